"""The call-graph store: writes batched per scheduler tick, and a small read API.

On a SQLite file store, what a run does (open the store, its start reads, cache lookups,
flushes) goes through ``sqlite3`` directly (:mod:`bridge.native.sqlite_file`), so a cached
run never imports SQLAlchemy; everything else, and every PostgreSQL store, goes through a
SQLAlchemy engine made on first use."""

from __future__ import annotations

import os
import random
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from bridge.native import sqlite_sql
from bridge.native.bulk import BulkStatement, decode_json, where_in
from bridge.native.call_files import file_rows
from bridge.native.record import Record, chunks
from bridge.native.schema import SCHEMA_VERSION
from bridge.native.sqlite_file import (
    SQLiteFile,
    apply_pragmas,
    file_database,
    is_damaged,
    shown_uri,
)
from bridge.native.values import DEFAULT_INLINE_LIMIT, ValueStore, dumps, loads, preview, type_name

if TYPE_CHECKING:
    from sqlalchemy import URL, Connection, Engine
    from sqlalchemy.engine import ExceptionContext

LOOKUP_CHUNK = 500
LOOKUP_SQL = (
    "SELECT calls.call_hash, calls.result_hash, calls.subtree_tasks, "
    "calls.result_files, calls.subtree_files, calls.subtree_counts, stored_values.data, "
    "stored_values.location, calls.created "
    "FROM calls JOIN stored_values ON stored_values.value_hash = calls.result_hash"
)
TASK_SOURCES_SQL = "SELECT task_hash, source_hash FROM task_sources"
# Seconds to wait before retrying a flush that lost a deadlock or serialization race
# (each doubled at most, at random, so the losers do not collide again in step).
RETRY_DELAYS = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
# PostgreSQL SQLSTATEs of a transaction that lost a race: deadlock_detected,
# serialization_failure. Retrying the whole transaction is the documented remedy.
RETRY_SQLSTATES = frozenset({"40P01", "40001"})
# The PostgreSQL advisory lock held while a process creates or upgrades the schema.
SCHEMA_LOCK_KEY = 0x627269646765  # "bridge"
SUPPORTED_SCHEMES = "sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE"


class StoreError(Exception):
    """The store cannot be opened or used as asked; the message says what to do."""


class CachedCall(NamedTuple):
    """A cache entry of a call (a NamedTuple: cheaper to define than a dataclass, at the
    start of every run)."""

    call_hash: str
    result_hash: str
    subtree_tasks: list[str]
    result_files: list[list[str]]
    subtree_files: list[list[str]]
    subtree_counts: dict[str, int] | None
    data: bytes | None
    location: str | None


class StartReads(NamedTuple):
    """See :meth:`CallGraphStore.start_reads`."""

    cached_task_hashes: set[str]
    task_sources: list[tuple[str, str]]


@dataclass
class WriteBatch:
    """Everything one scheduler tick wants written, flushed in one transaction in an
    order that never leaves a reference dangling (values before the calls naming them)."""

    tasks: dict[str, dict] = field(default_factory=dict)
    task_sources: dict[tuple[str, str], dict] = field(default_factory=dict)
    values: dict[str, dict] = field(default_factory=dict)
    calls: dict[tuple[str, str], dict] = field(default_factory=dict)
    new_jobs: dict[str, dict] = field(default_factory=dict)
    job_updates: dict[str, dict] = field(default_factory=dict)
    executions: dict[str, dict] = field(default_factory=dict)
    tags: list[dict] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.tasks or self.task_sources or self.values or self.calls or self.new_jobs
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


class _Statements(NamedTuple):
    """The writes of a flush, each with ``sql`` and ``bind(rows)``: compiled from
    SQLAlchemy for the engine's dialect, or the plain SQLite text."""

    insert_task: Any
    insert_task_source: Any
    insert_value: Any
    upsert_call: Any
    insert_call_file: Any
    upsert_execution: Any
    insert_job: Any
    insert_tag: Any
    job_update: Callable[[tuple[str, ...]], Any]  # by its ``b_<column>`` parameters


SQLITE_STATEMENTS = _Statements(
    sqlite_sql.INSERT_TASK, sqlite_sql.INSERT_TASK_SOURCE, sqlite_sql.INSERT_VALUE,
    sqlite_sql.UPSERT_CALL, sqlite_sql.INSERT_CALL_FILE, sqlite_sql.UPSERT_EXECUTION,
    sqlite_sql.INSERT_JOB, sqlite_sql.INSERT_TAG, sqlite_sql.job_update)


class CallGraphStore(Record):
    """A store of executions, jobs, calls, values and task sources: the record's reads
    (:class:`Record`), the engine's writes, cache lookups and values.

    Threads: ``flush`` may run in one thread while another calls
    ``lookup_calls`` and ``start_reads``; two flushes must not run at once. On a SQLite
    file the writes and the reads use connections of their own (see
    :class:`~bridge.native.sqlite_file.SQLiteFile`); elsewhere the engine's pool gives
    each its own connection."""

    def __init__(
        self,
        db_uri: str,
        value_store: str | os.PathLike | None = None,
        inline_limit: int = DEFAULT_INLINE_LIMIT,
    ) -> None:
        self.db_uri = db_uri
        self.inline_limit = inline_limit
        self.value_store = ValueStore(value_store or _default_value_store(db_uri))
        database = file_database(db_uri)
        self._file = SQLiteFile(database) if database is not None else None
        if self._file is None:
            self.engine  # noqa: B018 (a URI bridge cannot open fails here, as it always did)

    @cached_property
    def engine(self) -> Engine:  # type: ignore[override]
        """The SQLAlchemy engine, made on first use (a run on a SQLite file needs none)."""
        return _create_engine(self.db_uri)

    @cached_property
    def _statements(self) -> _Statements:
        return SQLITE_STATEMENTS if self._file is not None else compiled_statements(self.engine)

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def safe_uri(self) -> str:
        if self._file is not None:
            return shown_uri(self._file.database)
        return super().safe_uri

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite store (None for a server or in memory)."""
        if self._file is not None:
            return Path(self._file.database)
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        return Path(database)

    def exists(self) -> bool:
        """False for a SQLite store whose file is not there yet; a server is assumed up."""
        return self.sqlite_path is None or self.sqlite_path.exists()

    def checkpoint(self) -> None:
        """At an execution's end: a SQLite file's write-ahead log copied into it, when it
        holds more than a few MB (see ``sqlite_file.WAL_KEPT_BYTES``)."""
        if self._file is not None:
            self._file.checkpoint()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        if "engine" in self.__dict__:
            super().close()

    def _missing(self) -> StoreError:
        """No store where this config points: most often a command run from another
        folder than the project's, since `bridge run` makes the store itself."""
        return StoreError(
            f"no bridge store at {self.safe_uri}: nothing has run with this config yet. Run "
            "from the project's folder (or point --config or BRIDGE_CONFIG at its config "
            "folder), or make an empty store with `bridge init`")

    def open(self, create: bool = True) -> CallGraphStore:
        """Check the schema version, creating the schema in an empty database."""
        if not self.exists():
            if not create:
                raise self._missing()
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        version = self.version()
        if version is None:
            if not create:
                raise self._missing()
            with self._opening():
                version = self._create_schema()
        if version != SCHEMA_VERSION:
            newer = version > SCHEMA_VERSION
            raise StoreError(
                f"the store at {self.safe_uri} has schema version {version}, this bridge uses "
                f"{SCHEMA_VERSION}: "
                + ("upgrade bridge to read it" if newer else "run `bridge db upgrade` first")
            )
        return self

    def version(self) -> int | None:
        """The schema version the database records; None when it holds no tables yet."""
        if self._file is None:
            with self._opening(), self.engine.connect() as conn:
                return self.recorded_version(conn)
        with self._opening(), self._reads() as query:
            tables = {name for (name,) in query(sqlite_sql.TABLE_NAMES, ())}
            return self._version_of(tables, lambda: query(
                sqlite_sql.SCHEMA_VERSION_SQL, ("schema_version",)))

    @contextmanager
    def _opening(self) -> Iterator[None]:
        """A database error while opening the store as one line naming it."""
        try:
            yield
        except _database_errors() as error:
            raise StoreError(f"cannot open the store at {self.safe_uri}: {one_line(error)}; "
                             "check db_uri and that the database is reachable") from None

    def recorded_version(self, conn: Connection) -> int | None:
        """The version in ``bridge_meta`` (None: no tables, or none recorded yet)."""
        from sqlalchemy import inspect, select

        from bridge.native.schema import meta

        return self._version_of(set(inspect(conn).get_table_names()), lambda: conn.execute(
            select(meta.c.value).where(meta.c.key == "schema_version")).all())

    def _version_of(self, tables: set[str], read: Callable[[], Sequence[tuple]]) -> int | None:
        """The version ``read()`` finds (its rows), given the database's ``tables``. A
        database with other tables and no bridge metadata belongs to another application:
        it is refused before anything is written to it."""
        if sqlite_sql.META_TABLE not in tables:
            if tables:
                shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
                raise StoreError(
                    f"the database at {self.safe_uri} is not a bridge store: it holds other "
                    f"tables ({shown}) and no bridge metadata; left as it is. Point db_uri "
                    "(bridge.ini) or BRIDGE_DB_URI at a new file or an empty database")
            return None
        rows = read()
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    @contextmanager
    def schema_transaction(self) -> Iterator[Connection]:
        """A transaction holding the store's schema lock, so processes racing to create or
        upgrade the schema take turns, and each re-reads what the one before it did.
        SQLite: BEGIN IMMEDIATE takes the write lock before the first read (pysqlite
        itself would begin only at the first INSERT); PostgreSQL: an advisory lock held
        until the transaction ends (concurrent CREATE TABLEs of one name collide)."""
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
            yield conn

    def _create_schema(self) -> int:
        """Create the tables unless a racing process did first; the version then stored."""
        from bridge.native import schema

        with self.schema_transaction() as conn:
            version = self.recorded_version(conn)
            if version is None:
                schema.metadata.create_all(conn)
                conn.execute(
                    self._upsert_meta, [{"key": "schema_version", "value": str(SCHEMA_VERSION)}]
                )
                version = SCHEMA_VERSION
        return version

    @cached_property
    def _upsert_meta(self) -> Any:
        from bridge.native.schema import meta

        return _upsert(_dialect_insert(self.engine), meta, "key")

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
        """Write ``batch`` in one transaction. Every statement takes its rows in key order,
        so concurrent flushes lock shared rows (cache entries, values, task sources) in
        the same order and cannot deadlock each other; a transaction that loses such a
        race anyway (or a serialization race) is retried whole after a short pause.
        Safe in a thread other than the one reading (see the class), never two at once."""
        if not batch:
            return
        writes = self._ordered_writes(batch)
        for delay in (*RETRY_DELAYS, None):
            try:
                with self._transaction() as execute_many:
                    for statement, rows in writes:
                        if rows:
                            execute_many(statement.sql, statement.bind(rows))
                return
            except _database_errors() as error:
                if delay is None or not _lost_race(error):
                    raise
            time.sleep(delay * (1 + random.random()))

    def _ordered_writes(self, batch: WriteBatch) -> list[tuple[Any, list[dict]]]:
        """The batch's statements in an order that never leaves a reference dangling
        (values before the calls naming them), each with its rows sorted by key."""
        statements = self._statements
        updates_by_columns: dict[tuple[str, ...], list[dict]] = {}
        for _, row in sorted(batch.job_updates.items()):
            updates_by_columns.setdefault(tuple(sorted(row)), []).append(row)
        tag_key = ("entity_kind", "entity_id", "key", "value")
        calls = _by_key(batch.calls)
        return [
            (statements.insert_task, _by_key(batch.tasks)),
            (statements.insert_task_source, _by_key(batch.task_sources)),
            (statements.insert_value, _by_key(batch.values)),
            (statements.upsert_call, calls),
            (statements.insert_call_file, file_rows(calls)),
            (statements.upsert_execution, _by_key(batch.executions)),
            (statements.insert_job, _by_key(batch.new_jobs)),
            (statements.insert_tag,
             sorted(batch.tags, key=lambda tag: [tag[k] for k in tag_key])),
            *((statements.job_update(columns), rows)
              for columns, rows in sorted(updates_by_columns.items())),
        ]

    @contextmanager
    def _transaction(self) -> Iterator[Callable[[str, list], Any]]:
        """``executemany`` in one transaction: committed at the end, rolled back on error."""
        if self._file is None:
            with self.engine.begin() as conn:
                yield conn.exec_driver_sql
            return
        with self._damage_named(), self._file.transaction() as conn:
            yield conn.executemany

    # -- reads for the scheduler ---------------------------------------------------------

    @contextmanager
    def _reads(self) -> Iterator[Callable[[str, Sequence], list]]:
        """``query(sql, params)``, the rows as a list, on one connection."""
        if self._file is None:
            with self.engine.connect() as conn:
                yield lambda sql, params: list(conn.exec_driver_sql(sql, tuple(params)))
            return
        with self._damage_named(), self._file.reading() as conn:
            yield lambda sql, params: conn.execute(sql, params).fetchall()

    @property
    def _mark(self) -> str:
        """The driver's placeholder for a positional parameter."""
        if self._file is not None or self.engine.dialect.paramstyle == "qmark":
            return "?"
        return "%s"

    def lookup_calls(self, call_hashes: Iterable[str]) -> dict[str, list[CachedCall]]:
        """Cache entries by call hash, newest first. Entries with equal JSON text share its
        decoded value (the calls of one task mostly record the same subtree and files):
        treat those values as read-only."""
        found: dict[str, list[CachedCall]] = {}
        created: dict[int, float] = {}  # by id(entry): most calls have one entry, unsorted
        decode = _shared_decoder()
        mark = self._mark
        with self._reads() as query:
            for chunk in chunks(list(call_hashes), LOOKUP_CHUNK):
                sql = where_in(LOOKUP_SQL, "calls.call_hash", len(chunk), mark)
                for (call_hash, result_hash, tasks_, files, subtree, counts, data,
                     location, when) in query(sql, chunk):
                    entry = CachedCall(call_hash, result_hash, decode(tasks_), decode(files),
                                       decode(subtree), decode(counts), data, location)
                    created[id(entry)] = when
                    found.setdefault(call_hash, []).append(entry)
        for entries in found.values():
            if len(entries) > 1:
                entries.sort(key=lambda entry: created[id(entry)], reverse=True)
        return found

    def start_reads(self, cached: bool, pinned: Iterable[str]) -> StartReads:
        """What a run reads before its first call, in one connection: the task hashes with
        any cache entry (when ``cached``: calls of other tasks cannot hit), and the sources
        recorded for the ``pinned`` task hashes (none asked: no query)."""
        pinned = list(pinned)
        if not cached and not pinned:
            return StartReads(set(), [])
        mark = self._mark
        with self._reads() as query:
            cached_hashes = ({row[0] for row in query(sqlite_sql.CACHED_TASK_HASHES, ())}
                             if cached else set())
            sources = [tuple(row) for chunk in chunks(pinned, LOOKUP_CHUNK)
                       for row in query(where_in(TASK_SOURCES_SQL, "task_hash", len(chunk),
                                                 mark), chunk)]
        return StartReads(cached_hashes, sources)

    def load_cached_result(self, cached: CachedCall) -> Any:
        return self._load(cached.result_hash, cached.data, cached.location)

    # -- reads for the engine and adapters (the CLI's inspection reads are on Record) --

    def load_value(self, value_hash: str) -> Any:
        from sqlalchemy import select

        from bridge.native.schema import values

        with self.engine.connect() as conn:
            row = conn.execute(
                select(values.c.data, values.c.location).where(
                    values.c.value_hash == value_hash
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

    @contextmanager
    def _damage_named(self) -> Iterator[None]:
        """sqlite3's error for a damaged file as the StoreError SQLAlchemy's engine raises
        for it (see ``_sqlite_damaged``)."""
        try:
            yield
        except sqlite3.DatabaseError as error:
            if is_damaged(error):
                raise damaged_store(self._file.database, error) from None  # type: ignore[union-attr]
            raise


def compiled_statements(engine: Engine) -> _Statements:
    """The flush's statements for ``engine``'s dialect, each compiled on first use."""
    from sqlalchemy import bindparam, update

    from bridge.native import schema

    insert = _dialect_insert(engine)
    dialect = engine.dialect

    def bulk(statement: Any, table: Any) -> BulkStatement:
        return BulkStatement(dialect, statement, table)

    def ignore(table: Any) -> BulkStatement:
        return bulk(insert(table).on_conflict_do_nothing(), table)

    @cache
    def job_update(columns: tuple[str, ...]) -> BulkStatement:
        values = {key[2:]: bindparam(key) for key in columns if key != "b_job_id"}
        where = schema.jobs.c.job_id == bindparam("b_job_id")
        return bulk(update(schema.jobs).where(where).values(**values), schema.jobs)

    return _Statements(
        ignore(schema.tasks), ignore(schema.task_sources), ignore(schema.values),
        bulk(_upsert(insert, schema.calls, "call_hash", "subtree_hash"), schema.calls),
        ignore(schema.call_files),
        bulk(_upsert(insert, schema.executions, "execution_id"), schema.executions),
        bulk(insert(schema.jobs), schema.jobs), ignore(schema.tags), job_update)


def _shared_decoder() -> Callable[[Any], Any]:
    """decode_json, decoding each distinct text once."""
    decoded: dict[Any, Any] = {}

    def decode(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # NULL, or already parsed (psycopg)
        if value not in decoded:
            decoded[value] = decode_json(value)
        return decoded[value]

    return decode


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


def _by_key(rows: dict) -> list[dict]:
    return [rows[key] for key in sorted(rows)]


def _database_errors() -> tuple[type[BaseException], ...]:
    """The errors a database raises here: sqlite3's own (the direct SQLite path), and
    SQLAlchemy's when it is loaded (it wraps the driver's)."""
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is None:
        return (sqlite3.Error,)
    return (sqlite3.Error, sqlalchemy_exc.SQLAlchemyError)


def _driver_error(error: BaseException) -> BaseException:
    """The driver's own error: SQLAlchemy's DBAPIError wraps it as ``orig``."""
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is not None and isinstance(error, sqlalchemy_exc.DBAPIError):
        return error.orig
    return error


def _lost_race(error: BaseException) -> bool:
    """A deadlock or serialization failure (PostgreSQL), or a lock SQLite waited for in
    vain: the transaction was rolled back and may simply be run again."""
    orig = _driver_error(error)
    return (getattr(orig, "sqlstate", None) in RETRY_SQLSTATES
            or getattr(orig, "sqlite_errorname", None) == "SQLITE_BUSY")


def one_line(error: BaseException) -> str:
    """The driver's own message, without SQLAlchemy's SQL echo and background link."""
    orig = _driver_error(error)
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


def hide_password(db_uri: str) -> str:
    """``db_uri`` with any password replaced by ***, even when it does not parse."""
    return re.sub(r"(://[^:/@]*:).*@", r"\1***@", db_uri)


def check_db_uri(db_uri: str) -> None:
    """A StoreError naming the URI (password hidden) and what to write instead, unless
    bridge can open a store there (its driver importable)."""
    if file_database(db_uri) is None:  # a SQLite file needs only sqlite3
        _engine_url(db_uri)


def _engine_url(db_uri: str) -> URL:
    """The parsed URI of a store bridge can open, its driver importable; a StoreError
    naming the URI (password hidden) and what to write instead otherwise."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    shown = hide_password(db_uri)
    try:
        url = make_url(db_uri)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise StoreError(f"{shown!r} is not a database URI: write {SUPPORTED_SCHEMES}") from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"{shown}: bridge stores are SQLite or PostgreSQL, not {backend!r}: "
                         f"write {SUPPORTED_SCHEMES}")
    if backend == "sqlite" and (url.host or url.port):
        raise StoreError(f"{shown}: a SQLite URI names a file, not a host: write "
                         "sqlite:///relative/path.db or sqlite:////absolute/path.db")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    try:
        url.get_dialect().import_dbapi()
    except ImportError as error:
        driver = error.name or url.get_driver_name()
        install = ("pip install 'bridge-workflows[postgres]'" if driver == "psycopg"
                   else f"install {driver}")
        raise StoreError(f"{shown} needs the {driver} driver, which is not installed: "
                         f"{install}") from None
    return url


def _create_engine(db_uri: str) -> Engine:
    from sqlalchemy import create_engine, event

    engine = create_engine(_engine_url(db_uri))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "handle_error", _sqlite_damaged)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    apply_pragmas(dbapi_connection)


def damaged_store(database: str, error: BaseException) -> StoreError:
    """The error for a damaged file, or one that is not SQLite, and what to do."""
    return StoreError(f"{database} is damaged or not a SQLite database ({error}): restore "
                      "it from a backup, or move it away and bridge starts a new store there")


def _sqlite_damaged(context: ExceptionContext) -> None:
    """A damaged file, or one that is not SQLite, fails whichever query reads it first:
    say so in one line, and what to do, wherever that happens."""
    orig = context.original_exception
    if not is_damaged(orig):
        return
    database = context.engine.url.database if context.engine else "the store"
    raise damaged_store(database or "the store", orig)


def _default_value_store(db_uri: str) -> str:
    if db_uri.startswith("sqlite:///") and db_uri != "sqlite:///:memory:":
        return str(Path(db_uri[len("sqlite:///") :]).parent / "values")
    return os.path.join(os.getcwd(), ".bridge", "values")
