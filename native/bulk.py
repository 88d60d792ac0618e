"""Bulk writes and keyed reads straight through the DBAPI cursor.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert, and the
scheduler writes several rows per call. A statement is compiled once per dialect here,
JSON columns are encoded by us (the same text SQLAlchemy's JSON type would write and
reads back), and rows go to ``executemany`` as plain tuples or dicts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cached_property
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Table


class BulkStatement:
    """A statement run through the DBAPI cursor, compiled when its first rows come: a
    store opened for a replay writes few of its statements, and compiling them all would
    cost more than the replay."""

    def __init__(self, engine: Engine, statement: Any, table: Table) -> None:
        self._dialect = engine.dialect
        self._statement = statement
        self._table = table

    @cached_property
    def _compiled(self) -> tuple[str, bool, list[tuple[str, bool]]]:
        """The SQL, whether its parameters are positional, and each bound parameter's
        name (in the order a positional paramstyle wants them) and whether it is JSON."""
        compiled = self._statement.compile(dialect=self._dialect)
        json_columns = {c.name for c in self._table.c if isinstance(c.type, JSON)}
        names = list(compiled.positiontup or []) or list(compiled.binds)
        params = [(name, _column_name(name) in json_columns) for name in names]
        return compiled.string, bool(compiled.positiontup), params

    def run(self, conn: Connection, rows: Iterable[dict]) -> None:
        rows = list(rows)
        if not rows:
            return
        sql, positional, spec = self._compiled
        encode = json.dumps
        values = [
            [encode(row[name]) if is_json and row[name] is not None else row[name]
             for name, is_json in spec]
            for row in rows
        ]
        if positional:
            conn.exec_driver_sql(sql, [tuple(v) for v in values])
        else:
            names = [name for name, _ in spec]
            conn.exec_driver_sql(sql, [dict(zip(names, v, strict=True)) for v in values])


def _column_name(param: str) -> str:
    """Update statements bind columns as ``b_<column>``."""
    return param[2:] if param.startswith("b_") else param


def select_where_in(
    conn: Connection, select_sql: str, column: str, keys: list[str], suffix: str = ""
) -> list[tuple]:
    """``SELECT ... WHERE column IN (keys) suffix`` with one placeholder per key.

    SQLAlchemy's expanding IN costs milliseconds on its first use in a process, which is
    the whole budget of a cached replay."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"{select_sql} WHERE {column} IN ({', '.join([mark] * len(keys))}) {suffix}"
    return list(conn.exec_driver_sql(sql, tuple(keys)))


def decode_json(value: Any) -> Any:
    """JSON read through the driver: SQLite gives text, psycopg already-parsed values."""
    return json.loads(value) if isinstance(value, str) else value
