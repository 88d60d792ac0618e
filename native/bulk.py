"""Bulk writes straight through the DBAPI cursor.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert, and the
scheduler writes several rows per call. A statement is compiled once per dialect here
(or, on a SQLite file store, taken as plain text from :mod:`bridge.native.sqlite_sql`),
JSON columns are encoded by us (the same text SQLAlchemy's JSON type would write and
reads back), and rows go to ``executemany`` as plain tuples or dicts.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Sequence
from functools import cached_property, lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from sqlalchemy import Dialect, Table


class JSONText:
    """A JSON column's value already encoded (as ``json.dumps`` would): written as it is.
    Kept in the parts it was written in, joined only when its row is bound: the JSON of
    a fan-out's returned expression (19 MB for 100,000 calls) is then not held twice
    while the execution still holds its jobs, and the database's copy of it comes once
    the parts are let go of."""

    __slots__ = ("parts",)

    def __init__(self, *parts: str) -> None:
        self.parts = parts

    @property
    def text(self) -> str:
        if len(self.parts) != 1:
            self.parts = ("".join(self.parts),)
        return self.parts[0]


def _json_encoder() -> Callable[[Any], str]:
    """``json.dumps`` with its defaults, from one C encoder made once: ``dumps`` makes one
    per call, which costs more than encoding the small values of a row."""
    make = json.encoder.c_make_encoder
    if make is None:  # a Python built without the _json accelerator
        return json.dumps
    chunks = make(None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii,
                  None, ": ", ", ", False, False, True)
    return lambda value: "".join(chunks(value, 0))


encode_json = _json_encoder()


# The text of an empty container: most rows' lists and dicts (no files, no tags).
_EMPTY_TEXT = {list: "[]", tuple: "[]", dict: "{}"}


def _column_text(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is JSONText:
        return value.text
    return (not value and _EMPTY_TEXT.get(type(value))) or encode_json(value)


class Compiled(NamedTuple):
    """A statement's SQL, whether its parameters are positional, and each bound
    parameter's name (in the order a positional paramstyle wants them) and whether it
    is JSON."""

    sql: str
    positional: bool
    params: tuple[tuple[str, bool], ...]

    def bind(self, rows: Sequence[dict]) -> list:
        """``rows`` as ``executemany`` takes them for this statement."""
        values_of, json_at = _row_reader(self.params)
        encode = _column_text
        values: list = []
        for row in rows:
            row_values = values_of(row)
            if json_at:  # a tuple again after: SQLAlchemy's executemany takes no lists
                as_list = list(row_values)
                for at in json_at:
                    as_list[at] = encode(as_list[at])
                row_values = tuple(as_list)
            values.append(row_values)
        if self.positional:
            return values
        names = [name for name, _ in self.params]
        return [dict(zip(names, v, strict=True)) for v in values]


@lru_cache(maxsize=256)
def _row_reader(params: tuple[tuple[str, bool], ...]
                ) -> tuple[Callable[[dict], tuple], tuple[int, ...]]:
    """How ``Compiled.bind`` reads a row: its values in the statement's order, by one
    getter that reads them in C (not a lookup and a test per column), and the positions
    of the JSON ones, encoded in place."""
    get = itemgetter(*(name for name, _ in params))
    values_of = get if len(params) > 1 else lambda row: (get(row),)
    return values_of, tuple(i for i, (_, is_json) in enumerate(params) if is_json)


def compile_bulk(statement: Any, table: Table, dialect: Dialect) -> Compiled:
    """A SQLAlchemy statement on ``table`` compiled for ``dialect``."""
    from sqlalchemy import JSON

    compiled = statement.compile(dialect=dialect)
    json_columns = {c.name for c in table.c if isinstance(c.type, JSON)}
    names = list(compiled.positiontup or []) or list(compiled.binds)
    params = tuple((name, _column_name(name) in json_columns) for name in names)
    return Compiled(compiled.string, bool(compiled.positiontup), params)


class BulkStatement:
    """A SQLAlchemy statement compiled when its first rows come: a store opened for a
    replay writes few of its statements, and compiling them all would cost more than
    the replay."""

    def __init__(self, dialect: Dialect, statement: Any, table: Table) -> None:
        self._dialect = dialect
        self._statement = statement
        self._table = table

    @cached_property
    def compiled(self) -> Compiled:
        return compile_bulk(self._statement, self._table, self._dialect)

    @property
    def sql(self) -> str:
        return self.compiled.sql

    def bind(self, rows: Sequence[dict]) -> list:
        return self.compiled.bind(rows)


def _column_name(param: str) -> str:
    """Update statements bind columns as ``b_<column>``."""
    return param[2:] if param.startswith("b_") else param


def where_in(select_sql: str, column: str, count: int, mark: str, suffix: str = "") -> str:
    """``SELECT ... WHERE column IN (keys) suffix`` with ``count`` placeholders ``mark``.

    SQLAlchemy's expanding IN costs milliseconds on its first use in a process, which is
    the whole budget of a cached replay."""
    return f"{select_sql} WHERE {column} IN ({', '.join([mark] * count)}) {suffix}"


def decode_json(value: Any) -> Any:
    """JSON read through the driver: SQLite gives text, psycopg already-parsed values."""
    return json.loads(value) if isinstance(value, str) else value
