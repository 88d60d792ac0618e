"""Bulk writes and keyed reads straight through the DBAPI cursor.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert, and the
scheduler writes several rows per call. A statement is compiled once per dialect here,
JSON columns are encoded by us (the same text SQLAlchemy's JSON type would write and
reads back), and rows go to ``executemany`` as plain tuples or dicts.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Table


class JSONText:
    """A JSON column's value already encoded (as ``json.dumps`` would): written as it is."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _json_encoder() -> Callable[[Any], str]:
    """``json.dumps`` with its defaults, from one C encoder made once: ``dumps`` makes one
    per call, which costs more than encoding the small values of a row."""
    make = json.encoder.c_make_encoder
    if make is None:
        return json.dumps
    chunks = make(None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii,
                  None, ": ", ", ", False, False, True)
    return lambda value: "".join(chunks(value, 0))


encode_json = _json_encoder()


def _column_text(value: Any) -> Any:
    if value is None:
        return None
    return value.text if type(value) is JSONText else encode_json(value)


class BulkStatement:
    def __init__(self, engine: Engine, statement: Any, table: Table) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self.sql = compiled.string
        json_columns = {c.name for c in table.c if isinstance(c.type, JSON)}
        # Bound parameter names, in the order a positional paramstyle wants them.
        names = list(compiled.positiontup or []) or list(compiled.binds)
        self.positional = bool(compiled.positiontup)
        self.params = [(name, _column_name(name) in json_columns) for name in names]

    def run(self, conn: Connection, rows: Iterable[dict]) -> None:
        encode = _column_text
        spec = self.params
        values = [
            tuple([encode(row[name]) if is_json else row[name] for name, is_json in spec])
            for row in rows
        ]
        if not values:
            return
        if self.positional:
            conn.exec_driver_sql(self.sql, values)
        else:
            names = [name for name, _ in spec]
            conn.exec_driver_sql(self.sql, [dict(zip(names, v, strict=True)) for v in values])


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
