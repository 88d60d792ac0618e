"""The call-graph store's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL; read
them through :mod:`bridge.native.schema`, which loads this module on first use."""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    event,
)

metadata = MetaData()

meta = Table(
    "bridge_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("task_hash", String(64), primary_key=True),
    Column("fullname", Text, nullable=False, index=True),
    Column("namespace", Text),
    Column("source", Text, nullable=False),
)

# The sources each pinned task version (a task hash of a task with ``version=``) was
# recorded with: the one of the version's first run, and each accepted since with
# `bridge run --accept-version` (``accepted``: when; NULL for the first). A pinned task
# whose current source is none of its version's drifts (see bridge.native.drift). Version 5.
task_sources = Table(
    "task_sources",
    metadata,
    Column("task_hash", String(64), primary_key=True),
    Column("source_hash", String(64), primary_key=True),
    Column("source", Text, nullable=False),
    Column("accepted", Float),
)

values = Table(
    "stored_values",
    metadata,
    Column("value_hash", String(64), primary_key=True),
    Column("type_name", Text, nullable=False),
    # Small values live inline in `data`; large ones in the value store under `location`.
    Column("data", LargeBinary),
    Column("location", Text),
    Column("size", Integer, nullable=False),
    Column("preview", Text, nullable=False),
)

# The cache: one row per call hash and variant of the subtree beneath it (the task hashes
# it called), so reverting an edit finds the earlier entry valid again. Written only for
# calls that finished successfully, after the values it references.
calls = Table(
    "calls",
    metadata,
    Column("call_hash", String(64), primary_key=True),
    Column("subtree_hash", String(64), primary_key=True),
    Column("task_hash", String(64), nullable=False),
    Column("result_hash", String(64), ForeignKey("stored_values.value_hash"), nullable=False),
    # Every task hash called in the subtree beneath (and including) this call.
    Column("subtree_tasks", JSON, nullable=False),
    # [[uri, hash], ...] of Files/Dirs in the result, and in every result of the subtree.
    Column("result_files", JSON, nullable=False),
    Column("subtree_files", JSON, nullable=False),
    # {task name: calls} of the subtree, the call itself included; NULL for a leaf. A
    # replay reports these, so a cached parent shows what it stands for (version 2).
    Column("subtree_counts", JSON),
    # For parents: the expression the body returned, with task calls as call hashes.
    Column("returned", JSON),
    Column("job_id", String(36), nullable=False),
    Column("created", Float, nullable=False),
)

executions = Table(
    "executions",
    metadata,
    Column("execution_id", String(36), primary_key=True),
    Column("root_job_id", String(36)),
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started", Float, nullable=False),
    Column("ended", Float),
    Column("tags", JSON, nullable=False),
    # The process that runs (or ran) the execution: a reader on the same host tells a
    # killed run (process gone) from a running one (version 4; NULL before).
    Column("host", Text),
    Column("pid", Integer),
    Column("process_start", String(128)),
)

# One row per job (an evaluation of a call in one execution).
jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("execution_id", String(36), nullable=False),
    Column("parent_id", String(36)),
    Column("call_hash", String(64), nullable=False),
    Column("task_hash", String(64), nullable=False),
    Column("task_name", Text, nullable=False),
    Column("executor", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started", Float, nullable=False),
    Column("ended", Float),
    Column("error", Text),
    # [{"name": "reads1", "hash": "...", "sources": [[subpath, call_hash, path], ...],
    #   "files": [[uri, hash], ...]}]: the files' hashes as this job read them (version 3;
    # before, "files" held uris only).
    Column("arguments", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    # What this job returned (DONE) or replayed (CACHED), and the [uri, hash] of the files
    # in it (NULL: none): an execution's own record, which a later run never rewrites
    # (version 3).
    Column("result_hash", String(64)),
    Column("result_files", JSON),
    # What `bridge report` shows of a job beyond its call (version 5; NULL: nothing):
    # {"resources": {"vcpus": 2, ...}} as the call asked, and for a script() the whole
    # "command" and the "stdout" and "stderr" tails it printed.
    Column("details", JSON),
)

Index("ix_calls_task_hash", calls.c.task_hash)
Index("ix_jobs_execution", jobs.c.execution_id)
Index("ix_jobs_call_hash", jobs.c.call_hash)
# Which cache entries hold a File or Dir at a uri in their result (version 4): `bridge log
# PATH` finds a file's producer here instead of reading every call's result_files. A row per
# [uri, hash] of calls.result_files, written with the call; the uri is keyed by its sha256
# (uris may be longer than an index entry may be). A rewritten call may leave a row its
# result no longer holds: readers check the call's own result_files.
call_files = Table(
    "call_files",
    metadata,
    Column("uri_hash", String(64), primary_key=True),
    Column("call_hash", String(64), primary_key=True),
    Column("subtree_hash", String(64), primary_key=True),
    Column("uri", Text, nullable=False),
)

# For `bridge log` on a big store (version 4): the newest executions first.
VERSION_4_INDEXES = (Index("ix_executions_started", executions.c.started),)


def _prefix_index(table: Table, column: str) -> DDL:
    """A PostgreSQL index answering ``column LIKE 'prefix%'`` (`bridge log 1a29b158`), which
    its primary-key index does only in the C collation; SQLite's queries use a range. DDL
    text, since declaring it on an Index would import the PostgreSQL dialect everywhere."""
    return DDL(f"CREATE INDEX IF NOT EXISTS ix_{table.name}_{column}_prefix "
               f"ON {table.name} ({column} varchar_pattern_ops)")


# Created with their tables on PostgreSQL (and by the version 4 upgrade).
POSTGRESQL_INDEXES = {jobs: _prefix_index(jobs, "job_id"), calls: _prefix_index(calls, "call_hash")}
for _table, _ddl in POSTGRESQL_INDEXES.items():
    event.listen(_table, "after_create", _ddl.execute_if(dialect="postgresql"))

# Tags from apply_tags() and `bridge run --tag`: on a value, a job or an execution.
tags = Table(
    "tags",
    metadata,
    Column("entity_kind", String(16), primary_key=True),
    Column("entity_id", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", Text, primary_key=True),
)
