"""Schema upgrades for `bridge db upgrade`.

The schema version lives in ``bridge_meta`` (key ``schema_version``). ``STEPS[n]`` takes a
store from version n-1 to n inside one transaction; version 0 is a database with no
bridge tables (or an unversioned one). A new schema version adds its step here and bumps
``SCHEMA_VERSION`` in ``bridge.native.schema``; ``upgrade`` runs the missing steps in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, String, cast, func, inspect, select, text

from bridge.native import schema
from bridge.native.call_files import file_rows
from bridge.native.hashing import hash_text
from bridge.native.store import StoreError


def _create_tables(conn: Connection) -> None:
    """Version 1: the call-graph tables (only those missing are created)."""
    schema.metadata.create_all(conn)


def _add_subtree_counts(conn: Connection) -> None:
    """Version 2: calls.subtree_counts (NULL for entries written before it)."""
    _add_columns(conn, "calls", {"subtree_counts": "JSON"})


def _add_job_results(conn: Connection) -> None:
    """Version 3: jobs.result_hash and jobs.result_files, each execution's own record of
    what its jobs returned (NULL for jobs recorded before). Call hashes changed with this
    version too (arguments bound to the signature), so earlier cache entries miss once."""
    _add_columns(conn, "jobs", {"result_hash": "VARCHAR(64)", "result_files": "JSON"})


def _version_4(conn: Connection) -> None:
    """Version 4: executions.host, pid and process_start, so a reader can tell a killed
    run from a running one (NULL for executions recorded before: shown as recorded); the
    call_files index of the files in the calls' results, filled from them; an index on
    executions.started, and on PostgreSQL indexes for id and hash prefixes."""
    _add_columns(conn, "executions", {"host": "TEXT", "pid": "INTEGER",
                                      "process_start": "VARCHAR(128)"})
    schema.call_files.create(conn, checkfirst=True)
    conn.execute(schema.call_files.delete())  # filled afresh from the calls
    holding = select(schema.calls.c.call_hash, schema.calls.c.subtree_hash,
                     schema.calls.c.result_files).where(
        cast(schema.calls.c.result_files, String) != "[]")
    rows = file_rows(dict(row._mapping) for row in conn.execute(holding))
    for start in range(0, len(rows), 10_000):
        conn.execute(schema.call_files.insert(), rows[start : start + 10_000])
    for index in schema.VERSION_4_INDEXES:
        index.create(conn, checkfirst=True)
    if conn.dialect.name == "postgresql":
        for ddl in schema.POSTGRESQL_INDEXES.values():
            conn.execute(ddl)


def _version_5(conn: Connection) -> None:
    """Version 5: jobs.details, the resources a job asked for and a script's command and
    output (NULL for jobs recorded before); task_sources, filled with the source each pinned
    task's row records (``# version N`` and its source), so the first run after the upgrade
    already tells a drifted source."""
    _add_columns(conn, "jobs", {"details": "JSON"})
    schema.task_sources.create(conn, checkfirst=True)
    rows = conn.execute(select(schema.tasks.c.task_hash, schema.tasks.c.source).where(
        schema.tasks.c.source.startswith(schema.VERSION_PREFIX)))
    sources = [{"task_hash": task_hash, "source_hash": hash_text(source), "source": source,
                "accepted": None}
               for task_hash, recorded in rows
               for source in [recorded.partition("\n")[2]]]
    if sources:
        conn.execute(schema.task_sources.insert(), sources)


def _add_columns(conn: Connection, table: str, columns: dict[str, str]) -> None:
    """ALTER TABLE ADD COLUMN for each of ``columns`` (name: SQL type) not yet there."""
    present = {c["name"] for c in inspect(conn).get_columns(table)}
    for name, sql_type in columns.items():
        if name not in present:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}"))


STEPS: dict[int, Callable[[Connection], None]] = {
    1: _create_tables, 2: _add_subtree_counts, 3: _add_job_results, 4: _version_4,
    5: _version_5,
}


def current_version(store: Any) -> int:
    return store.version() or 0


def upgrade(store: Any) -> list[int]:
    """Run the missing steps; the versions applied (empty when up to date). Each step
    runs under the schema lock after re-reading the version, so racing upgrades (or a
    process creating the store meanwhile) take turns instead of colliding."""
    applied: list[int] = []
    while True:
        with store.schema_transaction() as conn:
            version = store.recorded_version(conn) or 0
            if version > schema.SCHEMA_VERSION:
                raise StoreError(f"the store at {store.safe_uri} has schema version {version}, "
                                 f"newer than this bridge's {schema.SCHEMA_VERSION}: "
                                 "upgrade bridge")
            if version == schema.SCHEMA_VERSION:
                return applied
            target = version + 1
            STEPS[target](conn)
            conn.execute(store._upsert_meta, [{"key": "schema_version", "value": str(target)}])
        applied.append(target)


def table_counts(store: Any) -> dict[str, int]:
    counts = {}
    with store.engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        for table in schema.metadata.sorted_tables:
            if table.name in present and table.name != schema.meta.name:
                counts[table.name] = conn.execute(select(func.count()).select_from(table)).scalar()
    return counts
