"""Reading a recorded call tree: which calls each call's body made, down to the leaves.

An execution records a replayed parent as one CACHED job, without its children; its
subtree is the one recorded by the job that first computed its cache entry, which the
entry names. The tree read here follows those links, so a fully cached execution has the
same tree as the one that computed it. The adapters build their graphs from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bridge.native.job import CACHED
from bridge.native.schema import calls, executions, jobs
from bridge.native.store import CallGraphStore

CHUNK = 500


@dataclass
class CallNode:
    """One recorded call: its task, its executor's name, the calls whose results its
    arguments came from (their call hashes), and the calls its body made."""

    task_name: str
    call_hash: str
    executor: str
    upstream: list[str] = field(default_factory=list)
    children: list[CallNode] = field(default_factory=list)


def find_execution_of(store: CallGraphStore, call_hash: str) -> str | None:
    """The newest finished execution whose top-level call has this call hash."""
    query = (
        select(executions.c.execution_id)
        .join(jobs, jobs.c.job_id == executions.c.root_job_id)
        .where(jobs.c.call_hash == call_hash, executions.c.status == "DONE")
        .order_by(executions.c.started.desc())
        .limit(1)
    )
    with store.engine.connect() as conn:
        return conn.execute(query).scalar()


def read_call_tree(store: CallGraphStore, execution_id: str) -> CallNode:
    """The call tree of an execution, from its top-level call, children in the order
    they started; a cached parent's children are those of the job that computed it."""
    with store.engine.connect() as conn:
        root_id = conn.execute(
            select(executions.c.root_job_id).where(executions.c.execution_id == execution_id)
        ).scalar()
        if root_id is None:
            raise LookupError(f"execution {execution_id} has no recorded top-level call")
        root_row = conn.execute(select(jobs).where(jobs.c.job_id == root_id)).first()
        root = _node(root_row)
        level = [(root_row, root)]
        while level:
            parents = {_computing_job_id(conn, row): node for row, node in level}
            level = []
            for row in _children_rows(conn, list(parents)):
                node = _node(row)
                parents[row.parent_id].children.append(node)
                level.append((row, node))
    return root


def _node(row: Any) -> CallNode:
    upstream = [source[1] for argument in row.arguments for source in argument["sources"]]
    return CallNode(row.task_name, row.call_hash, row.executor, list(dict.fromkeys(upstream)))


def _computing_job_id(conn: Any, row: Any) -> str:
    """The job whose children are this job's: itself, or for a replay the job that
    computed the cache entry replayed."""
    if row.status != CACHED:
        return row.job_id
    query = (select(calls.c.job_id).where(calls.c.call_hash == row.call_hash)
             .order_by(calls.c.created.desc()).limit(1))
    return conn.execute(query).scalar() or row.job_id


def _children_rows(conn: Any, parent_ids: Sequence[str]) -> list[Any]:
    rows = []
    for start in range(0, len(parent_ids), CHUNK):
        chunk = parent_ids[start:start + CHUNK]
        rows += conn.execute(
            select(jobs).where(jobs.c.parent_id.in_(chunk)).order_by(jobs.c.started)
        ).all()
    return rows
