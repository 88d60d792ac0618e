"""The SQL a run executes on a SQLite store through ``sqlite3`` (:mod:`bridge.native.sqlite_file`).

Each text is what SQLAlchemy compiles for the store's statement on its sqlite dialect
(the statements of ``CallGraphStore`` on any other store), kept as plain strings so that
a run need not import SQLAlchemy. ``tests/test_cli_startup.py`` compiles the SQLAlchemy
statements and asserts they equal these: a schema change that leaves one behind fails
there. The JSON columns' values are encoded by :mod:`bridge.native.bulk` either way.
"""

from __future__ import annotations

from functools import cache

from bridge.native.bulk import Compiled

META_TABLE = "bridge_meta"
JSON_COLUMNS = frozenset({
    "subtree_tasks", "result_files", "subtree_files", "subtree_counts", "returned",
    "arguments", "tags", "details",
})

# What SQLAlchemy's inspect(conn).get_table_names() runs on SQLite.
TABLE_NAMES = ("SELECT name FROM sqlite_master WHERE type='table' "
               "AND name NOT LIKE 'sqlite~_%' ESCAPE '~' ORDER BY name")
SCHEMA_VERSION_SQL = 'SELECT bridge_meta.value \nFROM bridge_meta \nWHERE bridge_meta."key" = ?'
CACHED_TASK_HASHES = "SELECT DISTINCT calls.task_hash \nFROM calls"


def _insert(sql: str) -> Compiled:
    """An INSERT whose parameters are its columns, in their order."""
    columns = sql[sql.index("(") + 1 : sql.index(")")].split(", ")
    names = [column.strip('"') for column in columns]
    return Compiled(sql, True, tuple((name, name in JSON_COLUMNS) for name in names))


INSERT_TASK = _insert(
    "INSERT INTO tasks (task_hash, fullname, namespace, source) VALUES (?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING")
INSERT_TASK_SOURCE = _insert(
    "INSERT INTO task_sources (task_hash, source_hash, source, accepted) VALUES (?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING")
INSERT_VALUE = _insert(
    "INSERT INTO stored_values (value_hash, type_name, data, location, size, preview) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
UPSERT_CALL = _insert(
    "INSERT INTO calls (call_hash, subtree_hash, task_hash, result_hash, subtree_tasks, "
    "result_files, subtree_files, subtree_counts, returned, job_id, created) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_hash, subtree_hash) "
    "DO UPDATE SET task_hash = excluded.task_hash, result_hash = excluded.result_hash, "
    "subtree_tasks = excluded.subtree_tasks, result_files = excluded.result_files, "
    "subtree_files = excluded.subtree_files, subtree_counts = excluded.subtree_counts, "
    "returned = excluded.returned, job_id = excluded.job_id, created = excluded.created")
INSERT_CALL_FILE = _insert(
    "INSERT INTO call_files (uri_hash, call_hash, subtree_hash, uri) VALUES (?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING")
UPSERT_EXECUTION = _insert(
    "INSERT INTO executions (execution_id, root_job_id, description, status, started, ended, "
    "tags, host, pid, process_start) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (execution_id) DO UPDATE SET root_job_id = excluded.root_job_id, "
    "description = excluded.description, status = excluded.status, "
    "started = excluded.started, ended = excluded.ended, tags = excluded.tags, "
    "host = excluded.host, pid = excluded.pid, process_start = excluded.process_start")
INSERT_JOB = _insert(
    "INSERT INTO jobs (job_id, execution_id, parent_id, call_hash, task_hash, task_name, "
    "executor, status, started, ended, error, arguments, tags, result_hash, result_files, "
    "details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_TAG = _insert(
    'INSERT INTO tags (entity_kind, entity_id, "key", value) VALUES (?, ?, ?, ?) '
    "ON CONFLICT DO NOTHING")
JOB_COLUMNS = tuple(name for name, _ in INSERT_JOB.params)


@cache
def job_update(columns: tuple[str, ...]) -> Compiled:
    """The UPDATE of a job's ``b_<column>`` parameters (``b_job_id`` names the job): SET
    in the table's column order, as SQLAlchemy writes it."""
    changed = [name for name in JOB_COLUMNS if f"b_{name}" in columns and name != "job_id"]
    sql = f"UPDATE jobs SET {', '.join(f'{name}=?' for name in changed)} WHERE jobs.job_id = ?"
    return Compiled(sql, True, tuple((f"b_{name}", name in JSON_COLUMNS)
                                     for name in (*changed, "job_id")))
