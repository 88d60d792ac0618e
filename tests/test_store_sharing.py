"""A store a team shares: racing first runs, concurrent runs recording the same calls,
another application's database, a damaged file, and store URIs bridge cannot open
(issue 12, items 1-4), as users meet them: separate `bridge run` processes released
together by a barrier, a real PostgreSQL server, real SQLite files."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from bridge.native.store import CallGraphStore
from cli_helpers import assert_user_error, invoke
from pg_cluster import fresh_database
from store_helpers import (
    BRIDGE,
    FANOUT,
    clean_env,
    execution_id,
    failures,
    fan_runs,
    fanout_rows,
    fanout_total,
    race,
    store_rows,
)

ROOT = Path(__file__).resolve().parent.parent
RUNS, LEAVES = 4, 300  # concurrent runs recording the same calls


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_store(request: pytest.FixtureRequest, workdir: Path) -> str:
    """The URI of a store nothing has opened yet: a SQLite path with no file, or a new
    database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{workdir / 'shared' / 'bridge.db'}"
    return fresh_database(request.getfixturevalue("postgres_uri"))


def test_racing_first_runs_create_the_store_once(fresh_store: str, workdir: Path) -> None:
    (workdir / "wf.py").write_text(FANOUT)
    runs, _ = race(workdir, fan_runs(6, 10), clean_env(BRIDGE_DB_URI=fresh_store))
    assert not failures(runs), failures(runs)
    assert all(run.stdout.strip() == str(fanout_total(10)) for run in runs)
    assert store_rows(fresh_store) == fanout_rows(6, 10)


def record_what_runs_share_first(db_uri: str, workflow: Path) -> None:
    """Record the workflow's task sources and the value of --width, as an earlier run
    would have: the rows every run writes first, in the same order. Left to the runs,
    the first to write them makes the others wait for its whole transaction, so their
    transactions would never overlap."""
    from bridge.loading import load_workflow, workflow_tasks
    from bridge.native.hashing import hash_value
    from bridge.native.recording import Recorder

    store = CallGraphStore(db_uri).open()
    recorder = Recorder(store, "-", flush_interval=1)
    for task in workflow_tasks(load_workflow(str(workflow))):
        recorder.task(task)
    recorder.value(hash_value(LEAVES), LEAVES)
    recorder.flush()
    store.close()


@contextmanager
def writes_held(db_uri: str) -> Iterator[Callable[[], None]]:
    """Lock the table every flush writes first; yields a function that lets the flushes
    go, at one instant, once ``RUNS`` of them wait."""
    with psycopg.connect(db_uri) as conn:
        conn.execute("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE")

        def release_when_all_wait() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and conn.execute(
                "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted"
            ).fetchone()[0] < RUNS:
                time.sleep(0.01)
            conn.commit()

        yield release_when_all_wait


def test_concurrent_runs_recording_the_same_calls_in_different_orders(
    postgres_uri: str, workdir: Path
) -> None:
    """Each run records the same leaf calls and values, in its own order. Forced: each
    run writes its whole record in one transaction at its end (a long flush interval),
    and those transactions are held until all wait, then let go together: without one
    lock order they deadlock."""
    db_uri = fresh_database(postgres_uri)
    (workdir / "wf.py").write_text(FANOUT)
    record_what_runs_share_first(db_uri, workdir / "wf.py")
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text("[scheduler]\nflush_interval = 600\n")
    env = clean_env(BRIDGE_DB_URI=db_uri)
    with writes_held(db_uri) as release_when_all_wait:
        runs, _ = race(workdir, fan_runs(RUNS, LEAVES), env,
                       while_running=release_when_all_wait)
    assert not failures(runs), failures(runs)
    assert all(run.stdout.strip() == str(fanout_total(LEAVES)) for run in runs)
    assert store_rows(db_uri) == fanout_rows(RUNS, LEAVES)
    for run in runs:
        ident = execution_id(run)
        log = subprocess.run([BRIDGE, "log", ident], cwd=workdir, env=env, text=True,
                             capture_output=True, check=True)
        assert ident[:8] in log.stdout and "DONE" in log.stdout, log.stdout


def test_a_write_that_loses_a_serialization_race_is_retried(
    postgres_uri: str, workdir: Path
) -> None:
    """The server aborts the run's first write as if it lost a race (a trigger raising
    serialization_failure once, counted by a sequence, which a rollback does not undo):
    the write is retried, the run succeeds and its record is whole."""
    from bridge.loading import load_workflow
    from bridge.scheduler import Scheduler

    db_uri = fresh_database(postgres_uri)
    CallGraphStore(db_uri).open().close()
    with psycopg.connect(db_uri, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE lost_races")
        conn.execute("""
            CREATE FUNCTION lose_first_race() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('lost_races') = 1 THEN
                    RAISE EXCEPTION 'could not serialize access'
                        USING ERRCODE = 'serialization_failure';
                END IF;
                RETURN NEW;
            END $$""")
        conn.execute("CREATE TRIGGER lose_first_race BEFORE INSERT ON executions "
                     "FOR EACH ROW EXECUTE FUNCTION lose_first_race()")
    # a namespace of its own: wf.py's tasks of the same names live in this process too
    (workdir / "retried.py").write_text('bridge_namespace = "retried"\n' + FANOUT)
    workflow = load_workflow(str(workdir / "retried.py"))
    with Scheduler(db_uri=db_uri) as scheduler:
        assert scheduler.run(workflow.fan(width=5)) == fanout_total(5)
    rows = store_rows(db_uri)
    assert rows["executions"] == 1 and rows["jobs"] == 7, rows
    with psycopg.connect(db_uri) as conn:
        assert conn.execute("SELECT last_value FROM lost_races").fetchone()[0] >= 2


def foreign_database(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER)")
        conn.executemany("INSERT INTO customers (name) VALUES (?)", [("ada",), ("grace",)])
    conn.close()


STORE_COMMANDS = [["run", "wf.py", "fan", "--width", "3"], ["log"], ["log", "-"],
                  ["db", "info"], ["db", "upgrade"], ["init"]]


@pytest.mark.parametrize("args", STORE_COMMANDS, ids=" ".join)
def test_another_applications_database_is_refused_unaltered(
    workdir: Path, args: list[str]
) -> None:
    database = workdir / ".bridge" / "bridge.db"
    foreign_database(database)
    before = database.read_bytes()
    (workdir / "wf.py").write_text(FANOUT)
    result = invoke(*args)
    assert_user_error(result, str(database), "not a bridge store", "customers, orders")
    assert database.read_bytes() == before
    assert sorted(p.name for p in database.parent.iterdir()) == ["bridge.db"]


def damaged_files(folder: Path) -> dict[str, Path]:
    """A file of random bytes, and a real store cut short (as a full disk or an
    interrupted copy leaves it)."""
    noise = folder / "noise.db"
    noise.write_bytes(os.urandom(6000))
    store = CallGraphStore(f"sqlite:///{folder / 'whole.db'}").open()
    store.close()
    cut = folder / "cut.db"
    shutil.copy(folder / "whole.db", cut)
    os.truncate(cut, 8192)
    return {"noise": noise, "cut": cut}


@pytest.mark.parametrize("damage", ["noise", "cut"])
def test_a_damaged_store_file_is_one_line(workdir: Path, damage: str) -> None:
    path = damaged_files(workdir)[damage]
    (workdir / "wf.py").write_text(FANOUT)
    for args in STORE_COMMANDS:
        result = invoke(*args, env={"BRIDGE_DB_URI": f"sqlite:///{path}"})
        assert_user_error(result, str(path), "damaged or not a SQLite database",
                          "restore it from a backup")


def test_damage_found_in_the_middle_of_a_command_is_one_line(workdir: Path) -> None:
    """A store whose header and schema read fine, and whose jobs' pages are garbage: the
    command fails at its first query of them, past opening the store."""
    from bridge.loading import load_workflow
    from bridge.scheduler import Scheduler

    (workdir / "damaged_wf.py").write_text('bridge_namespace = "damaged"\n' + FANOUT)
    with Scheduler() as scheduler:
        scheduler.run(load_workflow(str(workdir / "damaged_wf.py")).fan(width=200))
    database = workdir / ".bridge" / "bridge.db"
    size = database.stat().st_size
    with database.open("r+b") as file:
        file.seek(size * 3 // 10 // 4096 * 4096)
        file.write(os.urandom(size * 6 // 10 // 4096 * 4096))
    assert_user_error(invoke("log", "-"), str(database), "damaged or not a SQLite database")


@pytest.mark.parametrize(("db_uri", "words"), [
    ("mysql://ann:s3cret@db.example/bridge", ["mysql://ann:***@db.example/bridge",
                                              "not 'mysql'", "postgresql://"]),
    ("postgresql://ann:s3cret@db.example:port/bridge", ["is not a database URI",
                                                        "ann:***@"]),
    ("bridge.db", ["'bridge.db' is not a database URI", "sqlite:///PATH"]),
    ("sqlite://bridge.db", ["names a file, not a host", "sqlite:///relative/path.db"]),
])
def test_a_store_uri_bridge_cannot_open_is_one_line(
    workdir: Path, db_uri: str, words: list[str]
) -> None:
    result = invoke("log", env={"BRIDGE_DB_URI": db_uri})
    assert_user_error(result, "BRIDGE_DB_URI: ", *words)
    assert "s3cret" not in result.output
    ini = workdir / ".bridge" / "bridge.ini"
    ini.parent.mkdir(exist_ok=True)
    ini.write_text(f"[backend]\ndb_uri = {db_uri}\n")
    result = invoke("db", "info")
    assert_user_error(result, ".bridge/bridge.ini: [backend] db_uri: ", *words)


def test_an_unreachable_server_is_one_line_naming_the_uri_as_written(workdir: Path) -> None:
    """A PostgreSQL server that refuses the connection: the URI as the user wrote it
    (not the driver's spelling), its password hidden, and what to check."""
    port = _closed_port()
    result = invoke("log", env={"BRIDGE_DB_URI": f"postgresql://ann:s3cret@127.0.0.1:{port}/db"})
    assert_user_error(result, f"cannot open the store at postgresql://ann:***@127.0.0.1:{port}/db:",
                      "check db_uri and that the database is reachable")
    assert "s3cret" not in result.output and "psycopg://" not in result.output


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_postgresql_without_psycopg_says_which_extra_to_install(workdir: Path) -> None:
    """psycopg is installed here, so the run shadows it the way a missing install fails:
    a psycopg module first on PYTHONPATH that raises ModuleNotFoundError on import."""
    blocker = workdir / "no_psycopg"
    blocker.mkdir()
    (blocker / "psycopg.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'psycopg'\", name='psycopg')\n")
    (workdir / "wf.py").write_text(FANOUT)
    env = clean_env(PYTHONPATH=str(blocker),
                    BRIDGE_DB_URI="postgresql://ann:s3cret@db.example/bridge")
    result = subprocess.run([BRIDGE, "run", "wf.py", "fan"], cwd=workdir, env=env,
                            text=True, capture_output=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "Error: BRIDGE_DB_URI: postgresql://ann:***@db.example/bridge needs the psycopg "
        "driver, which is not installed: pip install 'bridge-workflows[postgres]'"]


def test_the_load_harness_at_small_scale(postgres_uri: str) -> None:
    """bench/bench_store_load.py: concurrent fan-outs against one PostgreSQL database and
    one SQLite file, every row and result checked (the full scale runs by hand)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_store_load.py"), "--runs", "3",
         "--tasks", "30", "--pg-uri", postgres_uri],
        text=True, capture_output=True, timeout=300, env=clean_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "postgresql" in result.stdout and "sqlite" in result.stdout, result.stdout
