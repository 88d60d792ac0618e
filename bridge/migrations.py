"""Schema upgrades for `bridge db upgrade`.

The schema version lives in ``bridge_meta`` (key ``schema_version``). ``STEPS[n]`` takes a
store from version n-1 to n inside one transaction; version 0 is a database with no
bridge tables (or an unversioned one). A new schema version adds its step here and bumps
``SCHEMA_VERSION`` in ``bridge.native.schema``; ``upgrade`` runs the missing steps in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, func, inspect, select, text

from bridge.native import schema
from bridge.native.store import StoreError


def _create_tables(conn: Connection) -> None:
    """Version 1: the call-graph tables (only those missing are created)."""
    schema.metadata.create_all(conn)


def _add_subtree_counts(conn: Connection) -> None:
    """Version 2: calls.subtree_counts (NULL for entries written before it)."""
    if "subtree_counts" not in {c["name"] for c in inspect(conn).get_columns("calls")}:
        conn.execute(text("ALTER TABLE calls ADD COLUMN subtree_counts JSON"))


def _add_job_results(conn: Connection) -> None:
    """Version 3: jobs.result_hash and jobs.result_files, each execution's own record of
    what its jobs returned (NULL for jobs recorded before). Call hashes changed with this
    version too (arguments bound to the signature), so earlier cache entries miss once."""
    present = {c["name"] for c in inspect(conn).get_columns("jobs")}
    if "result_hash" not in present:
        conn.execute(text("ALTER TABLE jobs ADD COLUMN result_hash VARCHAR(64)"))
    if "result_files" not in present:
        conn.execute(text("ALTER TABLE jobs ADD COLUMN result_files JSON"))


STEPS: dict[int, Callable[[Connection], None]] = {
    1: _create_tables, 2: _add_subtree_counts, 3: _add_job_results,
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
