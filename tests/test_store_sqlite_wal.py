"""A SQLite store file's write-ahead log. A new file that several processes open at once:
each connection switches it to write-ahead logging, and SQLite refuses the switch at once
(no busy wait) to a connection that finds another one writing. Racing first runs then failed
now and then with "cannot open the store: database is locked"; the switch is now tried
again. And what a run wrote is in the database file once the run returns having filled
the log past what it keeps, or once the store closes."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from bridge import Scheduler, task
from bridge.native import sqlite_file
from workflows import BRIDGE, bridge, write_workflow


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


@task()
def wal_leaf(x: int) -> int:
    return x + 1


@task()
def wal_fan(n: int) -> list:
    return [wal_leaf(i) for i in range(n)]


def test_a_run_that_fills_the_log_leaves_its_record_in_the_database_file_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The write-ahead log may hold many pages while a run writes; when the run returns
    having left more than the log keeps (a few MB; lowered here so 300 calls pass it), a
    thread copies them into the database file, so a copy of that file alone (a backup, a
    store sent to a colleague) holds the run, with the scheduler still open."""
    monkeypatch.setattr(sqlite_file, "WAL_KEPT_BYTES", 64 * 1024)
    path = tmp_path / "bridge.db"
    with Scheduler(db_uri=f"sqlite:///{path}") as scheduler:
        assert scheduler.run(wal_fan(300)) == list(range(1, 301))
        for thread in threading.enumerate():  # a checkpoint still copying: wait for it
            if thread.name == sqlite_file.CHECKPOINT_THREAD:
                thread.join()
        assert _jobs_in_copy_of(path, tmp_path) == [("DONE", 301)]


def test_closing_the_scheduler_leaves_a_small_run_in_the_database_file(tmp_path: Path) -> None:
    """A run that leaves less in the log than it keeps is copied into the database file
    by a later run's end, or when the store closes."""
    path = tmp_path / "bridge.db"
    with Scheduler(db_uri=f"sqlite:///{path}") as scheduler:
        assert scheduler.run(wal_fan(300)) == list(range(1, 301))
    assert _jobs_in_copy_of(path, tmp_path) == [("DONE", 301)]


def test_a_store_made_with_smaller_pages_is_used_as_it_is(workdir: Path) -> None:
    """A new store's file has pages of PAGE_BYTES (16 KB: big runs write faster into
    their indexes on random keys). A store an earlier bridge made with SQLite's 4 KB
    pages is opened as it is: the next `bridge run` replays what it holds and adds its
    own record, and the file is not rewritten to the new size."""
    write_workflow(workdir, FAN)
    bridge(workdir, "run", "workflow.py", "fan", "--n", "20")
    store = workdir / ".bridge" / "bridge.db"
    with closing(sqlite3.connect(store)) as conn:  # the file as an earlier bridge made it
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA page_size=4096")
        conn.execute("VACUUM")
        conn.execute("PRAGMA journal_mode=WAL")
    upgraded = bridge(workdir, "run", "workflow.py", "fan", "--n=21")
    assert "CACHED" in upgraded.stderr
    with closing(sqlite3.connect(store)) as conn:
        assert conn.execute("PRAGMA page_size").fetchone() == (4096,)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        latest = conn.execute(
            "SELECT status, count(*) FROM jobs WHERE execution_id = (SELECT execution_id "
            "FROM executions ORDER BY started DESC LIMIT 1) GROUP BY status ORDER BY 1"
        ).fetchall()
    assert latest == [("CACHED", 20), ("DONE", 2)]  # the new leaf and the parent ran
    elsewhere = workdir / "new"
    elsewhere.mkdir()
    write_workflow(elsewhere, FAN)
    bridge(elsewhere, "run", "workflow.py", "fan", "--n", "3")
    with closing(sqlite3.connect(elsewhere / ".bridge" / "bridge.db")) as conn:
        assert conn.execute("PRAGMA page_size").fetchone() == (sqlite_file.PAGE_BYTES,)


def _jobs_in_copy_of(path: Path, tmp_path: Path) -> list[tuple[str, int]]:
    """Job statuses in a copy of the database file alone (its -wal file left behind)."""
    copy = tmp_path / "copy.db"
    copy.write_bytes(path.read_bytes())
    with closing(sqlite3.connect(copy)) as conn:
        return conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall()


FAN = """
@task()
def leaf(i: int, offset: int) -> int:
    return i + offset


@task()
def fan(n: int, offset: int = 0) -> list:
    return [leaf(i, offset) for i in range(n)]
"""


def test_bridge_runs_in_two_processes_at_once_leave_both_in_the_database_file(
        workdir: Path) -> None:
    """Two `bridge run`s of one workflow at once on one store, their arguments spelled two
    ways: once both processes have exited, a copy of `bridge.db` alone (its -wal file left
    behind) holds both executions, whole, and a third run replays them."""
    write_workflow(workdir, FAN)
    runs = [subprocess.Popen([BRIDGE, "run", "workflow.py", "fan", *args], cwd=workdir,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for args in (["--n", "300"], ["--n=300", "--offset", "1"])]
    for run in runs:
        _, errors = run.communicate(timeout=120)
        assert run.returncode == 0, errors
    database = workdir / ".bridge" / "bridge.db"
    copy = workdir / "copy.db"
    copy.write_bytes(database.read_bytes())
    with closing(sqlite3.connect(copy)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        executions = conn.execute(
            "SELECT executions.status, count(*) FROM jobs JOIN executions USING "
            "(execution_id) GROUP BY execution_id ORDER BY 1").fetchall()
    assert executions == [("DONE", 301), ("DONE", 301)]
    replay = bridge(workdir, "run", "workflow.py", "fan", "--n", "300", "--offset=1")
    assert "CACHED" in replay.stderr
