"""Racing `bridge run` processes against one store, and what the store holds afterwards:
shared by tests/test_store_sharing.py and bench/bench_store_load.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

BRIDGE = str(Path(sys.executable).with_name("bridge"))

# A fan-out whose leaves are the same calls in every process, started in an order each
# process picks (`--seed`: 0 ascending, 1 descending, else shuffled), so concurrent runs
# finish and record the same calls in different orders. Importing the file is the
# barrier: each process says it is ready, then waits for the `go` file, so every process
# opens the store at the same instant.
FANOUT = '''
import os
import random
import time
from pathlib import Path

import bridge.config, bridge.native.store, bridge.scheduler  # loaded before the barrier
from bridge import task

_barrier = os.environ.get("BARRIER_DIR")
if _barrier:
    Path(_barrier, f"ready-{os.getpid()}").touch()
    while not Path(_barrier, "go").exists():
        time.sleep(0.002)


@task()
def leaf(i: int) -> int:
    return i * i


@task()
def fan(width: int = 20, seed: int = 0) -> int:
    order = list(range(width))
    if seed == 1:
        order.reverse()
    elif seed > 1:
        random.Random(seed).shuffle(order)
    return sum_all([leaf(i) for i in order])


@task()
def sum_all(parts: list) -> int:
    return sum(parts)
'''


def fan_runs(count: int, width: int) -> list[list[str]]:
    """`bridge run` of the same fan-out (in a folder holding FANOUT as wf.py), each
    process starting its leaves in its own order."""
    return [["run", "wf.py", "fan", "--width", str(width), "--seed", str(seed)]
            for seed in range(count)]


def fanout_total(width: int) -> int:
    return sum(i * i for i in range(width))


def fanout_rows(runs: int, width: int) -> dict[str, int]:
    """What `runs` FANOUT runs (seeds 0..runs-1) leave in a new store: one schema, one
    execution per run and all its jobs; the leaves' cache entries shared by all runs,
    and a `fan` and a `sum_all` entry per order."""
    values = {*range(width), *(i * i for i in range(width)), width, *range(runs),
              fanout_total(width)}
    return {"schema_version": 1, "executions": runs, "jobs": runs * (width + 2),
            "calls": width + 2 * runs, "tasks": 3,
            "stored_values": len(values) + runs,  # + each order's list of leaf results
            "tags": 0, "call_files": 0,  # no call returns a File
            "task_sources": 0}  # no task is pinned with version=


@dataclass
class Finished:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def race(folder: Path, runs: Sequence[list[str]], env: dict[str, str],
         timeout: float = 600, while_running: Callable[[], None] | None = None,
         ) -> tuple[list[Finished], float]:
    """Start one `bridge ...` process per argument list in ``folder``, wait until each has
    loaded its workflow (the FANOUT barrier), release them at once, and wait for all;
    the processes and the seconds from their release until the last one ended.
    ``while_running`` is called once they are released."""
    barrier = folder / "barrier"
    barrier.mkdir()
    env = {**env, "BARRIER_DIR": str(barrier)}
    procs = [subprocess.Popen([BRIDGE, *args], cwd=folder, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for args in runs]
    deadline = time.monotonic() + timeout
    while len(list(barrier.glob("ready-*"))) < len(procs):
        if any(proc.poll() is not None for proc in procs) or time.monotonic() > deadline:
            break  # one died before the barrier: release the rest, report them all
        time.sleep(0.01)
    (barrier / "go").touch()
    released = time.perf_counter()
    if while_running is not None:
        while_running()
    finished = []
    for args, proc in zip(runs, procs, strict=True):
        stdout, stderr = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        finished.append(Finished(list(args), proc.returncode, stdout, stderr))
    return finished, time.perf_counter() - released


def failures(finished: list[Finished]) -> str:
    """The runs that failed, with their output ('' when all succeeded)."""
    return "\n".join(f"bridge {' '.join(run.args)} -> {run.returncode}\n{run.stderr}"
                     for run in finished if run.returncode != 0)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    env.update(extra)
    return env


def execution_id(run: Finished) -> str:
    """The execution id `bridge run` printed on stderr."""
    for line in run.stderr.splitlines():
        if "  id: " in line:
            return line.rsplit("  id: ", 1)[1].strip()
    raise AssertionError(f"no execution id in:\n{run.stderr}")


def store_rows(db_uri: str) -> dict[str, int]:
    """Rows per bridge table, and ``schema_version``: how many version rows there are."""
    from sqlalchemy import func, select

    from bridge.migrations import table_counts
    from bridge.native.schema import meta
    from bridge.native.store import CallGraphStore

    store = CallGraphStore(db_uri)
    try:
        counts = table_counts(store)
        with store.engine.connect() as conn:
            counts["schema_version"] = conn.execute(
                select(func.count()).select_from(meta).where(meta.c.key == "schema_version")
            ).scalar()
    finally:
        store.close()
    return counts
