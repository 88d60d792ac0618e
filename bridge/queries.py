"""Read queries over the call-graph store for `bridge log`, `bridge viz` and dry runs.

They read the tables directly (SQLAlchemy Core), never write, and never select a value's
pickled data (see :mod:`bridge.native.record`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import String, cast, select

from bridge.native.call_files import uri_hash
from bridge.native.record import Record, value_columns
from bridge.native.schema import call_files, calls, executions, jobs, tasks
from bridge.native.schema import tags as tags_table
from bridge.native.schema import values as values_table

CHUNK = 500


def _rows(store: Record, query: Any) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def find_jobs(
    store: Record,
    id_prefix: str = "",
    *,
    execution_id: str | None = None,
    task_name: str | None = None,
    status: str | Sequence[str] | None = None,
    call_hash: str | None = None,
    limit: int | None = 100,
) -> list[dict]:
    """Jobs, newest first, narrowed by id prefix, execution, task name and status (one,
    or any of several).
    A task name matches the full name or its last part (``count`` matches ``wf.count``)."""
    query = select(jobs).order_by(jobs.c.started.desc())
    if id_prefix:
        query = query.where(store.starts_with(jobs.c.job_id, id_prefix))
    if execution_id:
        query = query.where(jobs.c.execution_id == execution_id)
    if task_name:
        query = query.where(
            (jobs.c.task_name == task_name) | jobs.c.task_name.endswith("." + task_name)
        )
    if isinstance(status, str):
        query = query.where(jobs.c.status == status.upper())
    elif status:
        query = query.where(jobs.c.status.in_(status))
    if call_hash:
        query = query.where(jobs.c.call_hash == call_hash)
    if limit:
        query = query.limit(limit)
    return _rows(store, query)


def tags_of(store: Record, kind: str, entity_id: str) -> list[tuple[str, str]]:
    """The (key, value) tags apply_tags and run tags put on a job, an execution or a value."""
    query = (select(tags_table.c.key, tags_table.c.value)
             .where(tags_table.c.entity_kind == kind, tags_table.c.entity_id == entity_id)
             .order_by(tags_table.c.key, tags_table.c.value))
    return [(row["key"], row["value"]) for row in _rows(store, query)]


def find_calls(store: Record, hash_prefix: str, limit: int = 20) -> list[dict]:
    """Cache entries whose call hash starts with ``hash_prefix``, newest first."""
    query = (
        select(calls).where(
            store.starts_with(calls.c.call_hash, hash_prefix))
        .order_by(calls.c.created.desc()).limit(limit)
    )
    return _rows(store, query)


def calls_by_hash(store: Record, call_hashes: Iterable[str]) -> dict[str, list[dict]]:
    """Every cache entry (all subtree variants) of each call hash, newest first."""
    found: dict[str, list[dict]] = {}
    wanted = sorted(set(call_hashes))
    for start in range(0, len(wanted), CHUNK):
        query = select(calls).where(calls.c.call_hash.in_(wanted[start : start + CHUNK]))
        for row in _rows(store, query.order_by(calls.c.created.desc())):
            found.setdefault(row["call_hash"], []).append(row)
    return found


def calls_with_file(store: Record, path: str) -> list[dict]:
    """Cache entries whose result holds a File or Dir at ``path``, newest first."""
    query = (
        select(calls).join(call_files, (call_files.c.call_hash == calls.c.call_hash)
                           & (call_files.c.subtree_hash == calls.c.subtree_hash))
        .where(call_files.c.uri_hash == uri_hash(path)).order_by(calls.c.created.desc())
    )
    return [
        row for row in _rows(store, query)
        if any(uri == path for uri, *_ in row["result_files"])
    ]


def tasks_by_hash(store: Record, task_hashes: Iterable[str]) -> dict[str, dict]:
    wanted = sorted(set(task_hashes))
    found = {}
    for start in range(0, len(wanted), CHUNK):
        query = select(tasks).where(tasks.c.task_hash.in_(wanted[start : start + CHUNK]))
        for row in _rows(store, query):
            found[row["task_hash"]] = row
    return found


def values_by_hash(store: Record, value_hashes: Iterable[str]) -> dict[str, dict]:
    """Value rows without their data: type name, size and a short preview."""
    wanted = sorted(set(value_hashes))
    found = {}
    for start in range(0, len(wanted), CHUNK):
        query = select(*value_columns()).where(
            values_table.c.value_hash.in_(wanted[start : start + CHUNK]))
        for row in _rows(store, query):
            found[row["value_hash"]] = row
    return found


def job_by_id(store: Record, job_id: str) -> dict | None:
    found = _rows(store, select(jobs).where(jobs.c.job_id == job_id))
    return found[0] if found else None


def executions_by_id(store: Record, execution_ids: Iterable[str],
                     status: str | None = None) -> list[dict]:
    """The rows of these executions (only those with ``status``, if given)."""
    wanted = sorted(set(execution_ids))
    found = []
    for start in range(0, len(wanted), CHUNK):
        query = select(executions).where(
            executions.c.execution_id.in_(wanted[start : start + CHUNK]))
        if status:
            query = query.where(executions.c.status == status)
        found += _rows(store, query)
    return found


def latest_execution(store: Record) -> dict | None:
    found = _rows(store, select(executions).order_by(executions.c.started.desc()).limit(1))
    return found[0] if found else None


def job_counts(store: Record, execution_ids: list[str]) -> dict[str, int]:
    """Number of jobs per execution."""
    from sqlalchemy import func

    query = (
        select(jobs.c.execution_id, func.count())
        .where(jobs.c.execution_id.in_(execution_ids)).group_by(jobs.c.execution_id)
    )
    with store.engine.connect() as conn:
        return {row[0]: row[1] for row in conn.execute(query)}


def replayed_subtrees(store: Record, execution_ids: list[str]) -> dict[str, dict[str, dict]]:
    """Per execution, per CACHED job that replayed a parent: the calls its subtree stands
    for ({task name: calls}, the job's own included), from its cache entry (the one holding
    what the job replayed, else the newest). The live status table counts these too."""
    query = (
        select(jobs.c.execution_id, jobs.c.job_id, jobs.c.result_hash,
               calls.c.result_hash.label("entry_result"), calls.c.subtree_counts)
        .join(calls, calls.c.call_hash == jobs.c.call_hash)
        .where(jobs.c.execution_id.in_(execution_ids), jobs.c.status == "CACHED",
               cast(calls.c.subtree_counts, String) != "null")
        .order_by(calls.c.created)
    )
    found: dict[str, dict[str, dict]] = {}
    matched: set[str] = set()
    for row in _rows(store, query):
        if row["subtree_counts"] is None or row["job_id"] in matched:
            continue
        found.setdefault(row["execution_id"], {})[row["job_id"]] = row["subtree_counts"]
        if row["entry_result"] == row["result_hash"]:
            matched.add(row["job_id"])
    return found
