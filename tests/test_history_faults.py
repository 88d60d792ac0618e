"""The record under faults: a killed `bridge run` shows as INTERRUPTED, not RUNNING forever;
and inspecting a store (`bridge log` in every form, `bridge viz`, `bridge db info`) never
unpickles what it holds, so a crafted row cannot run code in the inspector's process."""

from __future__ import annotations

import json
import pickle
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text, update

from bridge.native import process, schema
from bridge.native.schema import SCHEMA_VERSION
from cli_helpers import (
    BRIDGE,
    as_version,
    assert_user_error,
    invoke,
    subprocess_env,
    write_workflow,
)

# Runs `bridge` commands one after another in one fresh process of its own (cheaper than a
# process each on a loaded box, and as separate from the test as a user's shell is).
DRIVER = """
import json, sys
from click.testing import CliRunner
from bridge.cli import cli
outputs = []
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(cli, args, prog_name="bridge")
    assert result.exit_code == 0 and result.exception is None, (args, result.output)
    outputs.append(result.output)
print(json.dumps(outputs))
"""


def bridge(*commands: tuple[str, ...]) -> list[str]:
    """The output of each command, run in a separate process as a user runs them."""
    done = subprocess.run([str(Path(BRIDGE).parent / "python"), "-c", DRIVER,
                           json.dumps(commands)], capture_output=True, text=True,
                          timeout=120, env=subprocess_env())
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def _store(workdir: Path) -> str:
    return f"sqlite:///{workdir / '.bridge' / 'bridge.db'}"


def _wait_for(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


# -- a killed run ------------------------------------------------------------------------------

@pytest.fixture
def killed(workdir: Path) -> Iterator[dict]:
    """A `bridge run` SIGKILLed while a job sleeps: its execution row as it was left."""
    write_workflow(workdir)
    assert invoke("init").exit_code == 0
    run = subprocess.Popen([BRIDGE, "run", "wf.py", "fast_and_slow", "--seconds", "120"],
                           env=subprocess_env(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    engine = create_engine(_store(workdir))

    def sleeping() -> bool:
        with engine.connect() as conn:
            return conn.execute(select(schema.jobs.c.job_id).where(
                schema.jobs.c.task_name == "three.nap",
                schema.jobs.c.status == "RUNNING")).first() is not None

    try:
        _wait_for(sleeping, "the run's nap job to be recorded RUNNING")
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    with engine.connect() as conn:
        row = dict(conn.execute(select(schema.executions)).one()._mapping)
    engine.dispose()
    assert row["status"] == "RUNNING"
    assert (row["host"], row["pid"]) == (socket.gethostname(), run.pid)
    yield row


def test_a_killed_run_shows_as_interrupted(killed: dict) -> None:
    execution_id = killed["execution_id"]
    listed, as_json, one, detail, sleeper, running, _ = bridge(
        ("log",), ("log", "--format", "json"), ("log", execution_id[:8]),
        ("log", execution_id[:8], "--format", "json"),
        ("log", "--status", "INTERRUPTED", "--task", "nap", "--format", "json"),
        ("log", "--status", "RUNNING", "--format", "json"), ("viz", "-o", "graph.dot"))
    line = next(line for line in listed.splitlines() if line.startswith("Exec "))
    assert "[INTERRUPTED]" in line and "RUNNING" not in line
    assert f"(pid {killed['pid']} on {socket.gethostname()} is gone: killed)" in line

    execution = json.loads(as_json)["executions"][0]
    assert execution["status"] == "INTERRUPTED" and execution["recorded_status"] == "RUNNING"
    assert execution["pid"] == killed["pid"] and "is gone" in execution["process"]

    assert "[INTERRUPTED]" in one.splitlines()[0]
    # its unfinished jobs are interrupted too; the one that ended stays DONE
    jobs = [line for line in one.splitlines() if line.strip().startswith("Job ")]
    assert len(jobs) == 3
    assert sum("[INTERRUPTED]" in line for line in jobs) == 2  # the parent and the sleeper
    assert sum("[  DONE   ]" in line for line in jobs) == 1
    header = next(line for line in one.splitlines() if line.startswith("TASK"))
    assert header.split()[-2:] == ["INTERRUPTED", "TOTAL"]
    assert json.loads(detail)["status_counts"]["three.nap"] == {"DONE": 1, "INTERRUPTED": 1}

    sleeping = json.loads(sleeper)["jobs"]
    assert len(sleeping) == 1 and sleeping[0]["status"] == "INTERRUPTED"
    assert json.loads(running) == {"jobs": []}
    assert "INTERRUPTED" in Path("graph.dot").read_text()
    job = json.loads(bridge(("log", sleeping[0]["job_id"][:12], "--format", "json"))[0])
    assert job["status"] == "INTERRUPTED"


def _set_process(workdir: Path, **columns: object) -> None:
    engine = create_engine(_store(workdir))
    with engine.begin() as conn:
        conn.execute(update(schema.executions).values(**columns))
    engine.dispose()


def test_a_run_on_another_host_stays_running_with_where_to_look(killed: dict,
                                                                 workdir: Path) -> None:
    _set_process(workdir, host="build-box-7")
    listed, as_json = bridge(("log",), ("log", "--format", "json"))
    line = next(line for line in listed.splitlines() if line.startswith("Exec "))
    assert "[ RUNNING ]" in line and f"on build-box-7 pid {killed['pid']}" in line
    execution = json.loads(as_json)["executions"][0]
    assert (execution["status"], execution["host"]) == ("RUNNING", "build-box-7")
    # this host's name, but another machine (or a container that shares the name but not
    # the pids): cannot tell either
    _set_process(workdir, host=socket.gethostname(),
                 process_start="0f5c1d2e-another-boot:4026531836:1234")
    assert _status() == "RUNNING"


def test_a_reused_pid_is_not_taken_for_the_run(killed: dict, workdir: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        # another process now holds a pid the run recorded: its start time tells them apart
        _set_process(workdir, pid=sleeper.pid)
        assert _status() == "INTERRUPTED"
        # the very process the row names (its start as the recorder writes it), alive
        _set_process(workdir, pid=sleeper.pid, process_start=process._start(sleeper.pid))
        assert _status() == "RUNNING"
    finally:
        sleeper.kill()
        sleeper.wait()


def _status() -> str:
    return json.loads(bridge(("log", "--format", "json"))[0])["executions"][0]["status"]


# -- schema version 3 -> 4 ---------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_version_3_store_upgrades_and_its_runs_read_as_recorded(
        workdir: Path, backend: str, request: pytest.FixtureRequest) -> None:
    uri = _store(workdir) if backend == "sqlite" else request.getfixturevalue("postgres_uri")
    env = {"BRIDGE_DB_URI": uri}
    write_workflow(workdir)
    assert invoke("run", "wf.py", "main", "--n", "3", env=env).exit_code == 0
    as_version(uri, 3)
    engine = create_engine(uri)
    with engine.begin() as conn:  # a run killed before the upgrade, say
        conn.execute(text("UPDATE executions SET status = 'RUNNING'"))
    assert_user_error(invoke("log", env=env), "version 3", "bridge db upgrade")
    assert f"to schema version {SCHEMA_VERSION}" in invoke("db", "upgrade", env=env).output
    with engine.connect() as conn:
        columns = {c["name"] for c in conn.dialect.get_columns(conn, "executions")}
        indexes = {i["name"] for table in ("executions", "jobs", "calls")
                   for i in conn.dialect.get_indexes(conn, table)}
    engine.dispose()
    assert {"host", "pid", "process_start"} <= columns and "ix_executions_started" in indexes
    # PostgreSQL gets indexes for id prefixes (SQLite queries its primary keys by range)
    assert ("ix_jobs_job_id_prefix" in indexes) == (backend == "postgresql")
    # the file index is filled from the calls already recorded
    produced = invoke("log", "out/squares.txt", env=env).output
    assert "Produced by Job" in produced and "three.square" in produced
    # nothing tells where an old RUNNING execution ran: it shows as recorded
    assert json.loads(invoke("log", "--format", "json", env=env).output)["executions"][0][
        "status"] == "RUNNING"
    assert invoke("run", "wf.py", "main", "--n", "3", env=env).exit_code == 0
    newest = json.loads(invoke("log", "--format", "json", env=env).output)["executions"][0]
    assert (newest["status"], newest["host"]) == ("DONE", socket.gethostname())


# -- the trust boundary ------------------------------------------------------------------------

class _Plant:
    """Unpickling this creates the file ``marker``: what a crafted row could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple:
        return (open, (self.marker, "w"))


def test_inspecting_a_store_never_unpickles_what_it_holds(workdir: Path) -> None:
    write_workflow(workdir)
    assert invoke("init").exit_code == 0
    # values over 40 bytes go to the value store (the File values), smaller ones inline
    ini = workdir / ".bridge" / "bridge.ini"
    ini.write_text(ini.read_text().replace("# inline_limit = 65536", "inline_limit = 40"))
    assert invoke("run", "wf.py", "main", "--n", "3").exit_code == 0
    marker = workdir / "unpickled"
    evil = pickle.dumps(_Plant(marker))
    engine = create_engine(_store(workdir))
    values = schema.values
    with engine.begin() as conn:
        rows = {r.preview: r for r in conn.execute(select(values))}
        data_file, out_dir = rows["File('out/data.txt')"], rows["'out'"]
        assert data_file.location and out_dir.data is not None
        # in the value store, and inline
        Path(data_file.location).write_bytes(evil)
        conn.execute(update(values).where(values.c.value_hash == out_dir.value_hash)
                     .values(data=evil))
        # and a job as schema version 2 recorded it (argument files as bare uris), which
        # `bridge log --file` used to unpickle to learn the files' hashes
        square = conn.execute(select(schema.jobs).where(
            schema.jobs.c.task_name == "three.square")).one()
        arguments = [{**a, "files": [uri for uri, _ in a.get("files", [])]}
                     for a in square.arguments]
        conn.execute(update(schema.jobs).where(schema.jobs.c.job_id == square.job_id)
                     .values(arguments=arguments))
        execution_id = conn.execute(select(schema.executions.c.execution_id)).scalar()
        call_hash = square.call_hash
    engine.dispose()

    shown = {
        ("log",): "wf.py main --n 3",
        ("log", "--format", "json"): execution_id,
        ("log", "-"): "make_data(n=3, out='out')",
        ("log", execution_id[:8], "--format", "json"): "File('out/data.txt')",
        ("log", square.job_id[:8]): "data=File('out/data.txt'), out='out'",
        ("log", square.job_id[:8], "--format", "json"): "File('out/data.txt')",
        ("log", call_hash[:12]): "File('out/squares.txt')",
        ("log", "--file"): "out/data.txt",
        ("log", "--file", "--format", "json"): "out/data.txt",
        ("log", execution_id[:8], "--file"): "out/data.txt",
        ("log", "out/squares.txt"): "result = File('out/squares.txt')",
        ("log", "out/total.txt", "--format", "json"): "File('out/data.txt')",
        ("log", "--task", "square"): "data=File('out/data.txt')",
        ("viz", "-o", "graph.dot"): "Wrote the call graph",
        ("db", "info"): "stored_values",
    }
    outputs = bridge(*shown)
    assert not marker.exists(), "an inspection command unpickled a stored value"
    for (command, expected), output in zip(shown.items(), outputs, strict=True):
        assert expected in output, (command, output)
    assert "three.square" in Path("graph.dot").read_text()
