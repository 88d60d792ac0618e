"""`bridge run` in real processes: the live table in a terminal (tmux), plain periodic
lines in a pipe, and Ctrl+C (of `bridge run`, and of a Python script calling the API)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from cli_helpers import BRIDGE, subprocess_env, write_workflow

WAIT = 60  # seconds to wait for something to appear before failing


def _wait_for(probe: Callable[[], str], wanted: Callable[[str], bool]) -> str:
    deadline = time.monotonic() + WAIT
    seen = ""
    while time.monotonic() < deadline:
        seen = probe()
        if wanted(seen):
            return seen
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting; last seen:\n{seen}")


def _row(screen: str, name: str) -> list[str]:
    """The numbers of the table row of task `name` (the last such row on the screen)."""
    rows = [line.split() for line in screen.splitlines() if line.split()[:1] == [name]]
    return rows[-1][1:] if rows else []


class Terminal:
    """A tmux session, 120x40, running one command in the test's folder."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.socket = f"bridge-test-{os.getpid()}"

    def __call__(self, command: str) -> Callable[[], str]:
        """Start `command`; returns a function that reads the screen."""
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in subprocess_env(TERM="xterm-256color")
                       .items() if k in ("PATH", "HOME", "TERM", "LANG"))
        shell = f"cd {shlex.quote(str(self.workdir))} && env {env} {command}; " \
                "echo BRIDGE-EXIT=$?; sleep 600"
        self._tmux("new-session", "-d", "-s", "run", "-x", "120", "-y", "40", shell)
        return lambda: self._tmux("capture-pane", "-p", "-t", "run")

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "run", *keys)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, check=True).stdout

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def tmux(workdir: Path) -> Iterator[Terminal]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (scripts/system-deps.sh installs it)")
    terminal = Terminal(workdir)
    yield terminal
    terminal.close()


def test_live_table_in_a_terminal(workdir: Path, tmux: Terminal) -> None:
    write_workflow(workdir)
    screen = tmux(f"{BRIDGE} run wf.py naps --width 3 --seconds 3")
    # while it runs: the table, redrawn in place, with the three naps RUNNING
    live = _wait_for(screen, lambda s: _row(s, "three.nap")[:2] == ["0", "3"])
    assert "JOB STATUS" in live and "elapsed" in live
    header = next(line.split() for line in live.splitlines() if line.split()[:1] == ["TASK"])
    assert header == ["TASK", "PENDING", "RUNNING", "FAILED", "CACHED", "DONE", "TOTAL"]
    assert _row(live, "three.naps") == ["0", "1", "0", "0", "0", "1"]
    assert live.count("JOB STATUS") == 1  # redrawn in place, not appended
    # at the end: the final table, the duration and id, the result
    final = _wait_for(screen, lambda s: "BRIDGE-EXIT=" in s)
    assert "BRIDGE-EXIT=0" in final
    assert _row(final, "ALL") == ["0", "0", "0", "0", "4", "4"]
    assert _row(final, "three.nap") == ["0", "0", "0", "0", "3", "3"]
    assert "Execution duration" in final and "[0, 1, 2]" in final


def test_plain_lines_in_a_pipe_and_ctrl_c_stops_cleanly(workdir: Path) -> None:
    write_workflow(workdir)
    process = subprocess.Popen(
        [BRIDGE, "run", "wf.py", "fast_and_slow"], cwd=workdir, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env=subprocess_env(BRIDGE_STATUS_INTERVAL="0.2"),
    )
    lines: list[str] = []

    def read_line() -> str:
        lines.append(process.stderr.readline())
        return lines[-1]

    # periodic plain lines, one per interval, until the slow call runs alone
    _wait_for(read_line, lambda line: "RUNNING 2" in line and "DONE 1" in line)
    assert lines[0].startswith("[bridge] ") and "TOTAL" in lines[0]
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=WAIT)
    assert process.returncode == 130
    assert "Interrupted: execution" in rest and "Traceback" not in rest
    assert "| ALL" in rest  # the final table
    recorded = subprocess.run([BRIDGE, "log", "-", "--format", "json"], cwd=workdir,
                              capture_output=True, text=True, env=subprocess_env(), check=True)
    view = json.loads(recorded.stdout)
    assert view["status"] == "CANCELLED"
    assert view["status_counts"]["three.nap"] == {"DONE": 1, "CANCELLED": 1}


MANY_NAPS = """
import time
from bridge import task


@task(cache=False)
def nap(i: int) -> int:
    time.sleep(0.01)
    return i


@task(cache=False)
def naps(n: int) -> list:
    return [nap(i) for i in range(n)]
"""
NAPS = 5000


def test_ctrl_c_while_the_record_is_written_leaves_every_job_final(workdir: Path) -> None:
    """Ctrl+C lands while thousands of jobs run and their rows are being written: the
    record still ends whole, every job DONE or CANCELLED."""
    (workdir / "many.py").write_text(MANY_NAPS)
    process = subprocess.Popen([BRIDGE, "run", "many.py", "naps", "--n", str(NAPS)],
                               cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=subprocess_env())

    def done_rows() -> str:
        try:
            with closing(sqlite3.connect(workdir / ".bridge" / "bridge.db")) as conn:
                return str(conn.execute(
                    "SELECT count(*) FROM jobs WHERE status = 'DONE'").fetchone()[0])
        except sqlite3.OperationalError:  # not created yet
            return "0"

    _wait_for(done_rows, lambda count: int(count) >= 100)
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=WAIT)
    assert process.returncode == 130, rest
    assert "Traceback" not in rest
    view = json.loads(subprocess.run([BRIDGE, "log", "-", "--format", "json"], cwd=workdir,
                                     capture_output=True, text=True, env=subprocess_env(),
                                     check=True).stdout)
    assert view["status"] == "CANCELLED"
    counts = view["status_counts"]
    assert counts["naps"] == {"CANCELLED": 1}
    assert set(counts["nap"]) <= {"DONE", "CANCELLED"}, counts
    assert sum(counts["nap"].values()) == NAPS  # every job started is recorded


LONG_WORK = '''
import os
import time
from pathlib import Path
from bridge import script, task


@task(cache=False)
def long_script(folder: str) -> str:
    """A shell script whose tool runs for ten minutes."""
    return script(f"sleep 600 & echo $! > {folder}/tool.pid; echo $$ > {folder}/bash.pid; wait")


@task(cache=False, executor="procs")
def long_body(folder: str) -> int:
    """A Python body in a worker process that runs for ten minutes."""
    Path(folder, "worker.pid").write_text(str(os.getpid()))
    time.sleep(600)
    return 0


@task(cache=False)
def both(folder: str) -> list:
    return [long_script(folder), long_body(folder)]
'''


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # an unreaped zombie has stopped all the same


def _start_long_work(workdir: Path) -> list[Path]:
    """Write the long workflow and a processes executor; returns the pid files its work
    writes once running."""
    (workdir / "long.py").write_text(LONG_WORK)
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text(
        "[executors.procs]\ntype = local\nmode = processes\nmax_workers = 1\n")
    return [workdir / name for name in ("tool.pid", "bash.pid", "worker.pid")]


def _running_pids(pid_files: list[Path]) -> list[int]:
    """Wait until every pid file is written, and return the pids (all running)."""
    _wait_for(lambda: " ".join(p.read_text().strip() if p.exists() else "" for p in pid_files),
              lambda text: len(text.split()) == len(pid_files))
    pids = [int(p.read_text()) for p in pid_files]
    assert all(_alive(pid) for pid in pids)
    return pids


def _assert_stopped(workdir: Path, pids: list[int]) -> None:
    _wait_for(lambda: str([pid for pid in pids if _alive(pid)]), lambda alive: alive == "[]")
    view = json.loads(subprocess.run([BRIDGE, "log", "-", "--format", "json"], cwd=workdir,
                                     capture_output=True, text=True, env=subprocess_env(),
                                     check=True).stdout)
    assert view["status"] == "CANCELLED"


def test_ctrl_c_stops_running_scripts_and_worker_processes(workdir: Path) -> None:
    pid_files = _start_long_work(workdir)
    process = subprocess.Popen([BRIDGE, "run", "long.py", "both", "--folder", str(workdir)],
                               cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=subprocess_env())
    pids = _running_pids(pid_files)
    process.send_signal(signal.SIGINT)  # to bridge alone, as `kill -INT` would
    # the work would run for ten minutes: bridge returns long before, having stopped it
    _, rest = process.communicate(timeout=WAIT)
    assert process.returncode == 130, rest
    assert "Traceback" not in rest
    _assert_stopped(workdir, pids)


def test_ctrl_c_in_a_terminal_stops_the_run(workdir: Path, tmux: Terminal) -> None:
    pid_files = _start_long_work(workdir)
    screen = tmux(f"{BRIDGE} run long.py both --folder {shlex.quote(str(workdir))}")
    pids = _running_pids(pid_files)
    tmux.keys("C-c")  # the terminal sends SIGINT to the whole foreground process group
    final = _wait_for(screen, lambda s: "BRIDGE-EXIT=" in s)
    assert "BRIDGE-EXIT=130" in final and "Interrupted: execution" in final
    assert "Traceback" not in final and "KeyboardInterrupt" not in final
    _assert_stopped(workdir, pids)


API_SCRIPT = '''
import sys
from bridge import Scheduler, script, task


@task(cache=False)
def tool(folder: str) -> str:
    return script(f"sleep 600 & echo $! > {folder}/tool.pid; echo $$ > {folder}/bash.pid; wait")


if __name__ == "__main__":
    print(Scheduler().run(tool(sys.argv[1])))  # the README's form: no with, no close()
'''


def test_ctrl_c_through_the_python_api_stops_running_scripts(workdir: Path) -> None:
    (workdir / "api.py").write_text(API_SCRIPT)
    process = subprocess.Popen([sys.executable, "api.py", str(workdir)], cwd=workdir,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=subprocess_env())
    pids = _running_pids([workdir / "tool.pid", workdir / "bash.pid"])
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=WAIT)
    assert process.returncode != 0 and "KeyboardInterrupt" in rest
    _assert_stopped(workdir, pids)
