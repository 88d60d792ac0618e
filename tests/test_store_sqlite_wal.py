"""A new SQLite store file that several processes open at once: each connection switches it
to write-ahead logging, and SQLite refuses the switch at once (no busy wait) to a connection
that finds another one writing. Racing first runs then failed now and then with "cannot open
the store: database is locked"; the switch is now tried again."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from bridge.native import sqlite_file


def test_a_new_file_is_switched_to_wal_while_another_connection_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "new.db"
    other = sqlite3.connect(path)
    other.execute("BEGIN IMMEDIATE")  # another process's connection, writing the new file
    # Its write ends while this connection waits to try again.
    monkeypatch.setattr(time, "sleep", lambda _seconds: other.rollback())
    connection = sqlite3.connect(path)
    sqlite_file.apply_pragmas(connection)
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.close()
    other.close()
