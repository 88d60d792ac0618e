"""Bulk writes and keyed reads straight through the DBAPI cursor.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert, and the
scheduler writes several rows per call. A statement is compiled once per dialect here,
JSON columns are encoded by us (the same text SQLAlchemy's JSON type would write and
reads back), and rows go to ``executemany`` as plain tuples or dicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from json.encoder import c_make_encoder, encode_basestring_ascii
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Table


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
        encode = encode_json
        spec = self.params
        values = [
            tuple([encode(row[name]) if is_json and row[name] is not None else row[name]
                   for name, is_json in spec])
            for row in rows
        ]
        if not values:
            return
        if self.positional:
            conn.exec_driver_sql(self.sql, values)
        else:
            names = [name for name, _ in spec]
            conn.exec_driver_sql(self.sql, [dict(zip(names, v, strict=True)) for v in values])


def _json_encoder() -> Callable[[Any], str]:
    """``json.dumps`` with its defaults, but without building an encoder per value (most
    of the cost of encoding a job's arguments): Python's C encoder, made once."""
    if c_make_encoder is None:  # a Python built without the _json accelerator
        return json.dumps
    encoder = c_make_encoder(None, json.JSONEncoder().default, encode_basestring_ascii, None,
                             ": ", ", ", False, False, True)

    def encode(value: Any) -> str:
        return "".join(encoder(value, 0))

    return encode


encode_json = _json_encoder()


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
