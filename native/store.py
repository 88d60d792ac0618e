"""The call-graph store: writes batched per scheduler tick, and a small read API."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, event, inspect, select, update

from bridge.native import schema
from bridge.native.bulk import BulkStatement, decode_json, select_where_in
from bridge.native.call_files import CallUpsert
from bridge.native.record import Record, chunks
from bridge.native.schema import SCHEMA_VERSION, calls, executions, jobs, meta, tasks
from bridge.native.schema import values as values_table
from bridge.native.values import DEFAULT_INLINE_LIMIT, ValueStore, dumps, loads, preview, type_name

LOOKUP_CHUNK = 500
LOOKUP_SQL = (
    "SELECT calls.call_hash, calls.task_hash, calls.result_hash, calls.subtree_tasks, "
    "calls.result_files, calls.subtree_files, calls.subtree_counts, stored_values.data, "
    "stored_values.location "
    "FROM calls JOIN stored_values ON stored_values.value_hash = calls.result_hash"
)


class StoreError(Exception):
    """The store cannot be opened or used as asked; the message says what to do."""


@dataclass
class CachedCall:
    call_hash: str
    task_hash: str
    result_hash: str
    subtree_tasks: list[str]
    result_files: list[list[str]]
    subtree_files: list[list[str]]
    subtree_counts: dict[str, int] | None
    data: bytes | None
    location: str | None


@dataclass
class WriteBatch:
    """Everything one scheduler tick wants written, flushed in one transaction in an
    order that never leaves a reference dangling (values before the calls naming them)."""

    tasks: dict[str, dict] = field(default_factory=dict)
    values: dict[str, dict] = field(default_factory=dict)
    calls: dict[tuple[str, str], dict] = field(default_factory=dict)
    new_jobs: dict[str, dict] = field(default_factory=dict)
    job_updates: dict[str, dict] = field(default_factory=dict)
    executions: dict[str, dict] = field(default_factory=dict)
    tags: list[dict] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.tasks or self.values or self.calls or self.new_jobs
            or self.job_updates or self.executions or self.tags
        )

    def update_job(self, job_id: str, **changes: Any) -> None:
        row = self.new_jobs.get(job_id)
        if row is not None:
            row.update(changes)  # not yet written: fold the change into the insert
        else:
            self.job_updates.setdefault(job_id, {"b_job_id": job_id}).update(
                {f"b_{key}": value for key, value in changes.items()}
            )


class CallGraphStore(Record):
    """A SQLAlchemy-backed store of executions, jobs, calls, values and task sources: the
    record's reads (:class:`Record`), the engine's writes, cache lookups and values."""

    def __init__(
        self,
        db_uri: str,
        value_store: str | os.PathLike | None = None,
        inline_limit: int = DEFAULT_INLINE_LIMIT,
    ) -> None:
        self.db_uri = db_uri
        self.inline_limit = inline_limit
        self.engine = _create_engine(db_uri)
        self.value_store = ValueStore(value_store or _default_value_store(db_uri))
        self._prepare_statements()

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite store (None for a server or in memory)."""
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        return Path(database)

    def exists(self) -> bool:
        """False for a SQLite store whose file is not there yet; a server is assumed up."""
        return self.sqlite_path is None or self.sqlite_path.exists()

    def open(self, create: bool = True) -> CallGraphStore:
        """Check the schema version, creating the schema in an empty database."""
        if not self.exists():
            if not create:
                raise StoreError(f"no bridge store at {self.safe_uri}: run `bridge init` first")
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        try:
            with self.engine.connect() as conn:
                has_meta = inspect(conn).has_table(meta.name)
                version = (
                    conn.execute(select(meta.c.value).where(meta.c.key == "schema_version"))
                    .scalar()
                    if has_meta
                    else None
                )
        except Exception as error:
            raise StoreError(f"cannot open the store at {self.safe_uri}: {error}") from error
        if version is None:
            if not create:
                raise StoreError(f"no bridge store at {self.safe_uri}: run `bridge init` first")
            with self.engine.begin() as conn:
                schema.metadata.create_all(conn)
                conn.execute(
                    self._upsert_meta, [{"key": "schema_version", "value": str(SCHEMA_VERSION)}]
                )
        elif int(version) != SCHEMA_VERSION:
            newer = int(version) > SCHEMA_VERSION
            raise StoreError(
                f"the store at {self.safe_uri} has schema version {version}, this bridge uses "
                f"{SCHEMA_VERSION}: "
                + ("upgrade bridge to read it" if newer else "run `bridge db upgrade` first")
            )
        return self

    def close(self) -> None:
        self.engine.dispose()

    @property
    def safe_uri(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    # -- writes ------------------------------------------------------------------------

    def add_value(self, batch: WriteBatch, value_hash: str, value: Any) -> None:
        if value_hash in batch.values:
            return
        data = dumps(value)
        location = None
        if len(data) > self.inline_limit:
            location = self.value_store.put(value_hash, data)
        batch.values[value_hash] = {
            "value_hash": value_hash,
            "type_name": type_name(value),
            "data": None if location else data,
            "location": location,
            "size": len(data),
            "preview": preview(value),
        }

    def flush(self, batch: WriteBatch) -> None:
        if not batch:
            return
        updates_by_columns: dict[tuple[str, ...], list[dict]] = {}
        for row in batch.job_updates.values():
            updates_by_columns.setdefault(tuple(sorted(row)), []).append(row)
        with self.engine.begin() as conn:
            self._insert_task.run(conn, batch.tasks.values())
            self._insert_value.run(conn, batch.values.values())
            self._upsert_call.run(conn, batch.calls.values())
            self._upsert_execution.run(conn, batch.executions.values())
            self._insert_job.run(conn, batch.new_jobs.values())
            self._insert_tag.run(conn, batch.tags)
            for columns, rows in updates_by_columns.items():
                self._job_update(columns).run(conn, rows)

    # -- reads for the scheduler ---------------------------------------------------------

    def lookup_calls(self, call_hashes: Iterable[str]) -> dict[str, list[CachedCall]]:
        """Cache entries by call hash, newest first."""
        found: dict[str, list[CachedCall]] = {}
        wanted = list(call_hashes)
        with self.engine.connect() as conn:
            for chunk in chunks(wanted, LOOKUP_CHUNK):
                for row in select_where_in(conn, LOOKUP_SQL, "calls.call_hash", chunk,
                                           "ORDER BY calls.created DESC"):
                    call_hash, task_hash, result_hash, tasks_, files, subtree, counts = row[:7]
                    found.setdefault(call_hash, []).append(CachedCall(
                        call_hash, task_hash, result_hash, decode_json(tasks_),
                        decode_json(files), decode_json(subtree), decode_json(counts), *row[7:],
                    ))
        return found

    def cached_task_hashes(self) -> set[str]:
        """Task hashes with any cache entry: calls of other tasks cannot hit."""
        with self.engine.connect() as conn:
            return set(conn.execute(select(calls.c.task_hash).distinct()).scalars())

    def load_cached_result(self, cached: CachedCall) -> Any:
        return self._load(cached.result_hash, cached.data, cached.location)

    # -- reads for the engine and adapters (the CLI's inspection reads are on Record) --

    def load_value(self, value_hash: str) -> Any:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(values_table.c.data, values_table.c.location).where(
                    values_table.c.value_hash == value_hash
                )
            ).first()
        if row is None:
            raise StoreError(f"no value {value_hash[:12]} in the store at {self.safe_uri}")
        return self._load(value_hash, row.data, row.location)

    def _load(self, value_hash: str, data: bytes | None, location: str | None) -> Any:
        """A value from its row: inline data, or its file checked against the hash (a
        damaged file raises, and is rewritten when its call runs again). The file is
        looked for in the value store configured now, then where the row says it was
        written: a moved project still finds its values, and a row never points for
        ever at a file its re-runs write elsewhere."""
        if data is not None:
            return loads(data)
        current = self.value_store.path(value_hash)
        try:
            return loads(self.value_store.get(current, value_hash))
        except FileNotFoundError:
            if location is None or location == current:
                raise
        return loads(self.value_store.get(location, value_hash))

    # -- statements --------------------------------------------------------------------

    def _prepare_statements(self) -> None:
        insert = _dialect_insert(self.engine)

        def bulk(statement: Any, table: Any) -> BulkStatement:
            return BulkStatement(self.engine, statement, table)

        self._upsert_meta = _upsert(insert, meta, "key")
        self._insert_task = bulk(insert(tasks).on_conflict_do_nothing(), tasks)
        self._insert_value = bulk(insert(values_table).on_conflict_do_nothing(), values_table)
        self._insert_job = bulk(insert(jobs), jobs)
        self._insert_tag = bulk(insert(schema.tags).on_conflict_do_nothing(), schema.tags)
        self._upsert_call = CallUpsert(
            bulk(_upsert(insert, calls, "call_hash", "subtree_hash"), calls),
            bulk(insert(schema.call_files).on_conflict_do_nothing(), schema.call_files))
        self._upsert_execution = bulk(_upsert(insert, executions, "execution_id"), executions)
        self._job_updates: dict[tuple[str, ...], BulkStatement] = {}

    def _job_update(self, columns: tuple[str, ...]) -> BulkStatement:
        """An UPDATE of the given ``b_<column>`` parameters, compiled once per column set."""
        statement = self._job_updates.get(columns)
        if statement is None:
            values = {key[2:]: bindparam(key) for key in columns if key != "b_job_id"}
            update_jobs = update(jobs).where(jobs.c.job_id == bindparam("b_job_id"))
            statement = BulkStatement(self.engine, update_jobs.values(**values), jobs)
            self._job_updates[columns] = statement
        return statement


def _dialect_insert(engine: Engine) -> Any:
    name = engine.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        raise StoreError(f"bridge stores need SQLite or PostgreSQL, not {name!r}")
    return insert


def _upsert(insert: Any, table: Any, *keys: str) -> Any:
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={c.name: statement.excluded[c.name] for c in table.c if c.name not in keys},
    )


def _create_engine(db_uri: str) -> Engine:
    if db_uri.startswith("postgresql://"):
        db_uri = "postgresql+psycopg://" + db_uri[len("postgresql://") :]
    engine = create_engine(db_uri)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _default_value_store(db_uri: str) -> str:
    if db_uri.startswith("sqlite:///") and db_uri != "sqlite:///:memory:":
        return str(Path(db_uri[len("sqlite:///") :]).parent / "values")
    return os.path.join(os.getcwd(), ".bridge", "values")
