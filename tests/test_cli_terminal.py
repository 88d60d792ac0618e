"""`bridge run` in real processes: the live table in a terminal (tmux), plain periodic
lines in a pipe, and Ctrl+C."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
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


@pytest.fixture
def tmux(workdir: Path) -> Iterator[Callable[..., Callable[[], str]]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (scripts/system-deps.sh installs it)")
    socket = f"bridge-test-{os.getpid()}"

    def start(command: str) -> Callable[[], str]:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in subprocess_env(TERM="xterm-256color")
                       .items() if k in ("PATH", "HOME", "TERM", "LANG"))
        shell = f"cd {shlex.quote(str(workdir))} && env {env} {command}; " \
                "echo BRIDGE-EXIT=$?; sleep 600"
        subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "run", "-x", "120",
                        "-y", "40", shell], check=True)
        return lambda: subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", "run"],
                                      capture_output=True, text=True).stdout

    yield start
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def test_live_table_in_a_terminal(workdir: Path, tmux: Callable) -> None:
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
