"""The call-graph database schema, shared by SQLite and PostgreSQL: its version, and its
tables (SQLAlchemy Core), defined in :mod:`bridge.native.schema_tables` and loaded from here
on first use (``schema.calls``, ``from bridge.native.schema import jobs``): a run on a
SQLite file never needs them, and importing SQLAlchemy would be most of a cached run.

Bump SCHEMA_VERSION with every change, add its upgrade step to ``bridge.migrations``, and
update the SQL text of ``bridge.native.sqlite_sql`` (``tests/test_cli_startup.py``
compares it with the statements compiled from the tables).
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 5

# A pinned task's row in ``tasks`` holds its source after a first line ``# version N``.
VERSION_PREFIX = "# version "


def __getattr__(name: str) -> Any:
    """A name of :mod:`bridge.native.schema_tables` (metadata, a table, an index)."""
    if name.startswith("__"):
        raise AttributeError(name)
    from bridge.native import schema_tables

    try:
        value = getattr(schema_tables, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value
