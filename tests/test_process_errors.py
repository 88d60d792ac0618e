"""Errors of tasks run in worker processes (`mode = processes`), as a user meets them in
`bridge run`: an exception that cannot travel back keeps its type, message and traceback
(as text), and a return value that does not pickle is an error naming the task. Either is
recorded as FAILED with that message, and the run exits 1 without bridge's own traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from workflows import bridge

WORKFLOW = '''
import threading

from bridge import task


class HoldsLock(Exception):
    """Does not pickle: it holds a lock."""

    def __init__(self, message):
        super().__init__(message)
        self.lock = threading.Lock()


class TwoArgs(Exception):
    """Pickles, but does not unpickle: its __init__ wants two arguments."""

    def __init__(self, code, why):
        super().__init__(f"code {code}: {why}")


@task()
def locked() -> int:
    raise HoldsLock("the database at db.example is locked by job 7")


@task()
def quota() -> int:
    raise TwoArgs(7, "no quota left")


@task()
def main() -> list:
    return [locked()]


@task()
def make_function() -> object:
    return lambda x: x
'''


@pytest.fixture
def project(workdir: Path) -> Path:
    (workdir / "wf.py").write_text(WORKFLOW)
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text(
        "[executors.default]\ntype = local\nmode = processes\nmax_workers = 1\n")
    return workdir


def recorded(project: Path, execution_id: str) -> tuple[str, dict[str, tuple[str, str]]]:
    """The execution's status, and each job's (status, error) by task name."""
    with sqlite3.connect(project / ".bridge" / "bridge.db") as db:
        [status] = db.execute("SELECT status FROM executions WHERE execution_id = ?",
                              (execution_id,)).fetchone()
        jobs = db.execute("SELECT task_name, status, error FROM jobs WHERE execution_id = ?",
                          (execution_id,)).fetchall()
    return status, {name: (job_status, error) for name, job_status, error in jobs}


def assert_clean_failure(stderr: str) -> str:
    """Exit 1's output: the job's error, then one `Error:` line; no frames of bridge's
    own code, the process pool's or pickle's. Returns the `Error:` line."""
    assert "/native/" not in stderr and "concurrent/futures" not in stderr, stderr
    assert "pickle.py" not in stderr and "multiprocessing" not in stderr, stderr
    [line] = [line for line in stderr.splitlines() if line.startswith("Error:")]
    return line


@pytest.mark.parametrize(("task", "message", "raised_at"), [
    ("locked", "HoldsLock: the database at db.example is locked by job 7",
     'raise HoldsLock("the database at db.example is locked by job 7")'),
    ("quota", "TwoArgs: code 7: no quota left", 'raise TwoArgs(7, "no quota left")'),
    ("main", "HoldsLock: the database at db.example is locked by job 7",
     'raise HoldsLock("the database at db.example is locked by job 7")'),
])
def test_an_exception_that_cannot_travel_keeps_its_message(project: Path, task: str,
                                                           message: str, raised_at: str) -> None:
    run = bridge(project, "run", "--execution-id", task, "wf.py", task, check=False)
    assert run.returncode == 1, run.stderr
    assert f"failed: {message}" in assert_clean_failure(run.stderr)
    assert raised_at in run.stderr  # the user's own frame, from the worker's traceback
    status, jobs = recorded(project, task)
    assert status == "FAILED"
    job_status, error = jobs["locked" if task == "main" else task]
    assert job_status == "FAILED" and error.startswith(message), error
    assert raised_at in error


def test_a_return_value_that_does_not_pickle_names_the_task(project: Path) -> None:
    run = bridge(project, "run", "--execution-id", "fn", "wf.py", "make_function", check=False)
    assert run.returncode == 1, run.stderr
    line = assert_clean_failure(run.stderr)
    assert "task make_function returned function" in line
    assert "return value must pickle" in line and "Files" in line
    assert "AttributeError" not in line.split("(")[0]
    status, jobs = recorded(project, "fn")
    assert status == "FAILED"
    job_status, error = jobs["make_function"]
    assert job_status == "FAILED" and error.startswith("UnstorableResultError: task "
                                                       "make_function returned function")
