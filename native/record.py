"""The record as inspection reads it: executions, jobs, calls and value previews.

A :class:`Record` holds a database engine and nothing else: no value store, and no
query of it selects a value's pickled ``data``. `bridge log`, `bridge viz` and the other
inspection paths are given a Record, so inspecting a store can never unpickle (and so
never run) anything written into it. The engine's own store,
:class:`~bridge.native.store.CallGraphStore`, extends it with writes and value loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bridge.native.graph import ExecutionGraph

CHUNK = 500


@cache
def value_columns() -> tuple:
    """Every column of a value row but its pickled data: what inspection may see of a
    value. (SQLAlchemy and the schema load on first use: a run's store is a Record too.)"""
    from bridge.native.schema import values

    return tuple(c for c in values.c if c.name != "data")


class Record:
    """Read-only queries over a store's tables; never touches pickled values."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def safe_uri(self) -> str:
        """The URI as the user wrote it (no driver name), its password as ``***``."""
        url = self.engine.url
        return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def starts_with(self, column: Any, prefix: str) -> Any:
        """``column`` starts with ``prefix`` (an id or hash prefix), in a form the
        column's index answers. SQLite's LIKE is case-insensitive and cannot use it, so
        there it is a range too (exact in SQLite's byte order). PostgreSQL answers the
        LIKE from the index when the database's collation is C; a range could be wrong
        in other collations."""
        condition = column.startswith(prefix, autoescape=True)
        if prefix and self.engine.dialect.name == "sqlite":
            upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            condition &= (column >= prefix) & (column < upper)
        return condition

    def execution(self, execution_id: str) -> dict | None:
        from sqlalchemy import select

        from bridge.native.schema import executions

        with self.engine.connect() as conn:
            row = conn.execute(
                select(executions).where(executions.c.execution_id == execution_id)
            ).first()
        return dict(row._mapping) if row else None

    def find_executions(self, id_prefix: str = "", limit: int = 20) -> list[dict]:
        """Executions, newest first; `id_prefix` narrows by id prefix ('' for all)."""
        from sqlalchemy import select

        from bridge.native.schema import executions

        query = select(executions).order_by(executions.c.started.desc()).limit(limit)
        if id_prefix:
            query = query.where(self.starts_with(executions.c.execution_id, id_prefix))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def execution_graph(self, execution_id: str, with_calls: bool = True) -> ExecutionGraph:
        """The jobs of one execution, the calls and values they name, and the dataflow
        edges between them (argument sources resolved to the jobs that produced them).
        Without ``with_calls``, only the jobs and their arguments' values."""
        from sqlalchemy import select

        from bridge.native.schema import calls, jobs
        from bridge.native.schema import values as values_table

        with self.engine.connect() as conn:
            job_rows = [
                dict(row._mapping)
                for row in conn.execute(
                    select(jobs).where(jobs.c.execution_id == execution_id).order_by(
                        jobs.c.started
                    )
                )
            ]
            hashes = {row["call_hash"] for row in job_rows} if with_calls else set()
            call_rows = {}
            for chunk in chunks(sorted(hashes), CHUNK):
                query = select(calls).where(calls.c.call_hash.in_(chunk)).order_by(calls.c.created)
                for row in conn.execute(query):
                    call_rows[row.call_hash] = dict(row._mapping)  # the newest variant wins
            value_hashes = {c["result_hash"] for c in call_rows.values()}
            for job in job_rows:
                value_hashes.update(arg["hash"] for arg in job["arguments"])
            value_rows = {}
            for chunk in chunks(sorted(value_hashes), CHUNK):
                query = select(*value_columns()).where(values_table.c.value_hash.in_(chunk))
                for row in conn.execute(query):
                    value_rows[row.value_hash] = dict(row._mapping)
        from bridge.native.graph import ExecutionGraph

        return ExecutionGraph(execution_id, job_rows, call_rows, value_rows)


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
