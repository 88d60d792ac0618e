"""Bulk writes straight through the DBAPI cursor.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert, and the
scheduler writes several rows per call. A statement is compiled once per dialect here,
JSON columns are encoded by us (the same text SQLAlchemy's JSON type would write and
reads back), and rows go to ``executemany`` as plain tuples or dicts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
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
        encode = json.dumps
        spec = self.params
        values = [
            [encode(row[name]) if is_json and row[name] is not None else row[name]
             for name, is_json in spec]
            for row in rows
        ]
        if not values:
            return
        if self.positional:
            conn.exec_driver_sql(self.sql, [tuple(v) for v in values])
        else:
            names = [name for name, _ in spec]
            conn.exec_driver_sql(self.sql, [dict(zip(names, v, strict=True)) for v in values])


def _column_name(param: str) -> str:
    """Update statements bind columns as ``b_<column>``."""
    return param[2:] if param.startswith("b_") else param
