"""A SQLite store's file through Python's own ``sqlite3``, for what a run does.

Importing SQLAlchemy with its SQLite dialect takes about 0.25 s, most of a fully cached
`bridge run`. A run on a SQLite file store needs only a handful of statements (the schema
version check, its start reads, cache lookups and the batched writes), so
:class:`~bridge.native.store.CallGraphStore` runs those here, with the SQL text SQLAlchemy
compiles for them (:mod:`bridge.native.sqlite_sql`), and connections set up as its engine
sets up its own (:func:`apply_pragmas`, the arguments SQLAlchemy's pysqlite dialect
passes). Creating the schema, migrations and the inspection reads still go through
SQLAlchemy, which then loads on first use.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import quote, unquote

from bridge.native.sqlite_sql import META_TABLE

# A file URI as SQLAlchemy's make_url reads it, without a query (whose options only
# SQLAlchemy interprets) and with the default driver.
_FILE_URI = re.compile(r"sqlite(?:\+pysqlite)?:///([^?]*)")
DAMAGED_ERRORS = frozenset({"SQLITE_NOTADB", "SQLITE_CORRUPT"})
# Seconds between tries to switch a new file to write-ahead logging (see _use_wal).
WAL_RETRY_DELAYS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
# The page size of a new store's file (SQLite's default: 4 KB; a file keeps the size it
# was made with). Job ids and hashes are random keys, so a big run's rows go into its
# indexes at random places; with 16 KB pages those trees have fewer, larger pages, and a
# 100,000-call first run was about 8% faster in turns (docs/benchmarks.md).
PAGE_BYTES = 16_384
# What the write-ahead log may hold before a commit copies it into the database (SQLite's
# default: 1,000 pages). Each batch of a 100,000-call run touches most pages of the
# hash-keyed indexes again, and a checkpoint after every commit copied them all each
# time. The execution's end checkpoints (``SQLiteFile.checkpoint``), so the log stays
# that large only while a big run writes.
WAL_AUTOCHECKPOINT_BYTES = 100 * 1024 * 1024
# What the log may keep at an execution's end: about SQLite's default 1,000 pages of 4 KB.
# A checkpoint syncs the log and the database to disk (~10 ms here even for a 1,000-call
# run's log, a tenth of the run), so a smaller log waits for a later run's end, or the
# store's close; and once checkpointed, the log file is cut back to this size when reused.
WAL_KEPT_BYTES = 4 * 1024 * 1024
CHECKPOINT_THREAD = "bridge-wal-checkpoint"


def _bound_as_is(value: object) -> object:
    return value


def _bind_nulls_and_blobs_directly() -> None:
    """``sqlite3`` binds an exact int, float or str as it is, but looks up an adapter
    for any other parameter: for the NULLs and pickled values of every row bridge
    writes, a failed lookup that raises and clears an AttributeError (measured: rows of
    five columns, two NULL and one a blob, insert in half the time without it). An
    adapter that hands the value back, found at once, binds them as before. Not where
    the process registered adapters of its own for them."""
    for kind in (type(None), bytes):
        if (kind, sqlite3.PrepareProtocol) not in sqlite3.adapters:
            sqlite3.register_adapter(kind, _bound_as_is)


_bind_nulls_and_blobs_directly()


def file_database(db_uri: str) -> str | None:
    """The database path of a SQLite file URI (``sqlite:///PATH``), as SQLAlchemy reads
    it; None for a server, an in-memory database, or a URI with query options."""
    match = _FILE_URI.fullmatch(db_uri)
    if match is None:
        return None
    database = unquote(match[1])
    return database if database not in ("", ":memory:") else None


def shown_uri(database: str) -> str:
    """The URI of ``database`` as SQLAlchemy renders it (``Record.safe_uri``)."""
    return "sqlite:///" + quote(database, safe=" +/")


def apply_pragmas(connection: sqlite3.Connection) -> None:
    """Wait for locks, and use write-ahead logging (readers never block the writer) in
    bridge's own databases only: switching it on rewrites the file's header, and a
    database of another application must be refused unaltered."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    tables = {row[0] for row in cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables or META_TABLE in tables:
        if not tables:  # a new file (or one made elsewhere and still empty): its page size
            cursor.execute(f"PRAGMA page_size={PAGE_BYTES}")
        _use_wal(cursor)
        page_bytes = cursor.execute("PRAGMA page_size").fetchone()[0]
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_BYTES // page_bytes}")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_KEPT_BYTES}")
    cursor.close()


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Switch to write-ahead logging. Connections of processes that open a new file at
    once all switch it: the switch upgrades a read of the file's header to a write, and
    SQLite answers one that finds another connection writing with SQLITE_BUSY at once
    (waiting could deadlock). That one waits a little and tries again (by then the file
    is in WAL mode, and the switch does nothing)."""
    for delay in (*WAL_RETRY_DELAYS, None):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if delay is None or error.sqlite_errorname != "SQLITE_BUSY":
                raise
        time.sleep(delay)


def is_damaged(error: BaseException) -> bool:
    """A damaged file, or one that is not SQLite (whichever query reads it first fails)."""
    return getattr(error, "sqlite_errorname", None) in DAMAGED_ERRORS


class SQLiteFile:
    """Two connections to one database file, each opened on first use: one for reads and
    one for write transactions.

    Thread contract: :meth:`transaction` (the store's ``flush``) may run in a thread of
    its own while another thread reads through :meth:`reading` (``lookup_calls``,
    ``start_reads``): in write-ahead-log mode the reader sees the last committed
    transaction and never waits for the writer. Each connection is guarded by its own
    lock, so two writers (or two readers) at once take turns rather than share one."""

    def __init__(self, database: str) -> None:
        self.database = database
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        # As SQLAlchemy's pysqlite dialect connects to a file: its absolute path, usable
        # from any thread (a pool hands connections between threads).
        connection = sqlite3.connect(os.path.abspath(self.database), check_same_thread=False)
        try:
            apply_pragmas(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The read connection (fetch every result whole: a half-read cursor would hold
        its read transaction open)."""
        with self._read_lock:
            if self._reader is None:
                self._reader = self._connect()
            yield self._reader

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The write connection in one transaction: committed when the block ends,
        rolled back when it raises. sqlite3 begins it (deferred) at the first write, as
        it does under SQLAlchemy."""
        with self._write_lock:
            if self._writer is None:
                self._writer = self._connect()
            with self._writer:
                yield self._writer

    def checkpoint(self) -> None:
        """Copy what the write-ahead log holds into the database, as far as readers
        allow, once it holds more than WAL_KEPT_BYTES (see WAL_AUTOCHECKPOINT_BYTES), in a
        thread of its own (CHECKPOINT_THREAD): most of a checkpoint is waiting for the disk
        to take the log and the database, which no reader needs (what they read is the same
        before and after), so the run's result does not wait for it. Closing the store, or
        the process's exit, waits for it. Measured by the log file's size: frames are
        written from its start again after a checkpoint, over a file cut back to
        WAL_KEPT_BYTES."""
        if self._writer is None or self._log_bytes() <= WAL_KEPT_BYTES:
            return
        threading.Thread(target=self._checkpoint, name=CHECKPOINT_THREAD).start()

    def _checkpoint(self) -> None:
        """One that cannot run now (the file locked or full) leaves the log as it is: the
        next checkpoint copies it."""
        with self._write_lock:
            if self._writer is None:  # closed meanwhile: the close checkpointed it
                return
            with suppress(sqlite3.OperationalError):
                self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _log_bytes(self) -> int:
        try:
            return os.path.getsize(f"{os.path.abspath(self.database)}-wal")
        except OSError:  # no log: nothing written since the last close
            return 0

    def close(self) -> None:
        """Close both connections; the next use opens them again."""
        for lock, name in ((self._read_lock, "_reader"), (self._write_lock, "_writer")):
            with lock:
                connection = getattr(self, name)
                setattr(self, name, None)
                if connection is not None:
                    connection.close()
