"""The local executor keeps to its cores and memory: each call's vcpus and memory count
against them, `bridge run --cores N` caps them, a call that could never fit fails at once,
and a script() step learns its share ($BRIDGE_CPUS). What ran at once is observed by the
calls themselves: each registers in a shared file, under a lock, while it runs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bridge.config import Config, ConfigError
from tests.workflows import BRIDGE, bridge, ran_tasks, write_workflow

# Each call adds itself (name: vcpus) to running.json while its body runs, and appends
# the calls running at that moment, itself included, to seen.json.
REGISTER = """
import fcntl, json, os, time
from contextlib import contextmanager

@contextmanager
def locked_state():
    with open("state.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.load(open("state.json")) if os.path.exists("state.json") else {
            "running": {}, "seen": []}
        yield state
        with open("state.json", "w") as out:
            json.dump(state, out)

@contextmanager
def registered(name, vcpus):
    with locked_state() as state:
        state["running"][name] = vcpus
        state["seen"].append(dict(state["running"]))
    try:
        time.sleep(0.2)  # the call's work: long enough for others to start meanwhile
        yield
    finally:
        with locked_state() as state:
            del state["running"][name]

@task(cache=False)
def work(name: str, vcpus: int = 1) -> str:
    with registered(name, vcpus):
        return name

@task(cache=False)
def main() -> list:
    calls = [work(f"small{i}") for i in range(3)]
    calls.append(work.options(vcpus=2)("big", 2))
    calls += [work.options(vcpus=1)(f"small{i}") for i in range(3, 7)]
    return calls
"""
NAMES = ["small0", "small1", "small2", "big", "small3", "small4", "small5", "small6"]
PROCESSES = "[executors.default]\ntype = local\nmode = processes\nmax_workers = 4\n"


def seen(folder: Path) -> list[dict[str, int]]:
    """What each call saw running when it started."""
    return json.loads((folder / "state.json").read_text())["seen"]


def write_config(folder: Path, text: str) -> None:
    (folder / ".bridge").mkdir(exist_ok=True)
    (folder / ".bridge" / "bridge.ini").write_text(text)


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_with_cores_2_never_more_than_2_cores_of_calls_run_at_once(
        workdir: Path, mode: str) -> None:
    write_workflow(workdir, REGISTER)
    if mode == "processes":
        write_config(workdir, PROCESSES)
    done = bridge(workdir, "run", "--cores", "2", "workflow.py", "main")
    assert eval(done.stdout) == NAMES
    starts = seen(workdir)
    assert len(starts) == len(NAMES)
    assert max(sum(start.values()) for start in starts) == 2  # the capacity is used ...
    assert all(sum(start.values()) <= 2 for start in starts)  # ... and never exceeded
    [big] = [start for start in starts if "big" in start]
    assert big == {"big": 2}  # it started alone, and no call started while it ran
    assert not any("big" in start for start in starts if start is not big)


def test_cores_from_bridge_ini_and_from_bridge_cpus(workdir: Path) -> None:
    """A section's cores, and $BRIDGE_CPUS as the default of --cores (a bridge run
    inside a script() step keeps to that step's share)."""
    write_workflow(workdir, REGISTER.replace('work.options(vcpus=2)("big", 2)',
                                             'work("big", 1)'))
    write_config(workdir, "[executors.default]\ntype = local\ncores = 1\n")
    bridge(workdir, "run", "workflow.py", "main")
    assert all(sum(start.values()) == 1 for start in seen(workdir))
    (workdir / "state.json").unlink()
    write_config(workdir, "[executors.default]\ntype = local\ncores = 3\n")
    env = {**os.environ, "BRIDGE_CPUS": "1"}
    done = subprocess.run([BRIDGE, "run", "workflow.py", "main"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert all(sum(start.values()) == 1 for start in seen(workdir))


@pytest.mark.parametrize(("option", "value", "capacity"), [
    ("vcpus", len(os.sched_getaffinity(0)) + 1, f"cores = {len(os.sched_getaffinity(0))}, "
                                                 "this machine's CPU count"),
    ("memory", 10**6, "the machine's memory"),
])
def test_a_call_asking_for_more_than_the_machine_fails_at_once(
        workdir: Path, option: str, value: int, capacity: str) -> None:
    write_workflow(workdir, f"""
        @task()
        def first() -> int:
            ran("first")
            return 1

        @task()
        def greedy(x: int) -> int:
            ran("greedy")
            return x

        @task()
        def main() -> int:
            return greedy.options({option}={value})(first())
    """)
    failed = bridge(workdir, "run", "workflow.py", "main", check=False)
    assert failed.returncode == 1
    assert (f"task greedy asks for {option}={value}" in failed.stderr), failed.stderr
    assert capacity in failed.stderr and f"lower its {option} option" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert ran_tasks(workdir) == ["first"]  # greedy never ran
    log = json.loads(bridge(workdir, "log", "-", "--format", "json").stdout)
    assert log["status_counts"]["first"] == {"DONE": 1}
    assert log["status_counts"]["greedy"] == {"FAILED": 1}
    # what was recorded before it stays: a second run replays first and fails again
    bridge(workdir, "run", "workflow.py", "main", check=False)
    assert ran_tasks(workdir) == []


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_a_script_step_sees_its_share(workdir: Path, mode: str) -> None:
    write_workflow(workdir, """
        from bridge import script

        def show(name):  # calls differ by their command: options are not in the hash
            return f'echo "{name} $BRIDGE_CPUS ${{BRIDGE_MEMORY_GB:-none}}"'

        @task()
        def main() -> list:
            return [script(show("plain")), script(show("both"), vcpus=2, memory=1.5),
                    script(show("memory"), tempdir=True, memory=3)]
    """)
    if mode == "processes":
        write_config(workdir, PROCESSES)
    done = bridge(workdir, "run", "workflow.py", "main")
    assert eval(done.stdout) == ["plain 1 none\n", "both 2 1.5\n", "memory 1 3\n"]


def test_a_body_awaiting_its_calls_gives_back_its_core(workdir: Path) -> None:
    """With one core, a body that awaits calls holds no core while it waits: otherwise
    the calls it waits for could never start."""
    write_workflow(workdir, """
        @task()
        def leaf(x: int) -> int:
            ran(f"leaf{x}")
            return x + 1

        @task()
        async def middle(x: int) -> int:
            return await leaf(x) + await leaf(x + 10)

        @task()
        async def main() -> int:
            return await middle(1) + await middle(2)

        @task()
        async def waiter() -> int:
            return await leaf(5)

        @task()
        def twins() -> list:  # waiter awaits the very call queued after it
            return [waiter(), leaf(5)]
    """)
    done = bridge(workdir, "run", "--cores", "1", "workflow.py", "main")
    assert done.stdout.strip() == "30"
    assert ran_tasks(workdir) == ["leaf1", "leaf11", "leaf12", "leaf2"]
    done = bridge(workdir, "run", "--cores", "1", "workflow.py", "twins")
    assert done.stdout.strip() == "[6, 6]"
    assert ran_tasks(workdir) == ["leaf5"]


def test_calls_asking_for_no_cores_run_beside_each_other(workdir: Path) -> None:
    """vcpus=0 (an I/O-bound task: downloads, API calls) takes no core: with --cores 1,
    three such calls still run at once, as redun's thread pool runs every call. Each
    waits until all three have been running at once (it gives up after 60 s: in turn, they
    never are)."""
    write_workflow(workdir, REGISTER + '''
@task(cache=False, vcpus=0)
def io_bound(name: str) -> int:
    with registered(name, 0):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with locked_state() as state:
                if max(len(running) for running in state["seen"]) == 3:
                    return 3
            time.sleep(0.05)
        return 1

@task(cache=False)
def io_main() -> list:
    return [io_bound(f"io{i}") for i in range(3)]
''')
    done = bridge(workdir, "run", "--cores", "1", "workflow.py", "io_main")
    assert eval(done.stdout) == [3, 3, 3]


@pytest.mark.parametrize(("line", "key"), [
    ("cores = 0", "cores"), ("cores = many", "cores"), ("memory = -4", "memory")])
def test_a_bad_capacity_is_a_config_error_naming_the_key(
        tmp_path: Path, line: str, key: str) -> None:
    (tmp_path / "bridge.ini").write_text(f"[executors.default]\ntype = local\n{line}\n")
    with pytest.raises(ConfigError, match=rf"\[executors.default\] {key}: Input should be"):
        Config.load(tmp_path)


def test_a_bad_cores_option_is_named(workdir: Path) -> None:
    write_workflow(workdir, "@task()\ndef main() -> int:\n    return 1\n")
    done = bridge(workdir, "run", "--cores", "0", "workflow.py", "main", check=False)
    assert done.returncode == 2 and "--cores" in done.stderr


def test_calls_start_in_order_and_none_overtakes_a_waiting_big_one() -> None:
    """The documented policy: a call that fits now still waits behind an earlier one that
    does not, so a big call is not starved by a stream of small ones."""
    from bridge.native.executors.capacity import Capacity, Limit

    capacity: Capacity[str] = Capacity(Limit(2, "test"), Limit(8, "test"))
    assert capacity.admit((1, 0), "first")
    assert not capacity.admit((2, 4), "big")
    assert not capacity.admit((1, 0), "small")  # one core is free, but big came first
    assert capacity.release((1, 0)) == [((2, 4), "big")]
    assert capacity.release((2, 4)) == [((1, 0), "small")]


def test_withdrawn_calls_give_back_the_share_they_were_given() -> None:
    """A call given its share but not yet on a thread (all max_workers threads busy) and
    withdrawn when the run stops gives its share back: a later call asking for every core
    still starts. Withdrawn calls never run."""
    import queue
    import threading

    from bridge.native.executors.base import Work
    from bridge.native.executors.local import LocalExecutor
    from bridge.native.task import task

    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    @task(cache=False)
    def step(name: str) -> str:
        ran.append(name)
        if name == "first":
            started.set()
            release.wait()
        return name

    outcomes: queue.SimpleQueue = queue.SimpleQueue()
    executor = LocalExecutor("default", {"cores": 2, "max_workers": 1})
    executor.start(outcomes.put)

    def submit(name: str, vcpus: int = 1) -> None:
        executor.submit(Work(name, step, (name,), {}, {"vcpus": vcpus}, name, False))

    try:
        submit("first")
        assert started.wait(timeout=60)  # it runs on the only thread
        submit("given")  # has the second core, waits for a thread
        submit("waiting")  # waits for a core
        assert sorted(executor.cancel_pending()) == ["given", "waiting"]
        release.set()
        assert outcomes.get(timeout=60).value == "first"
        submit("whole", vcpus=2)
        assert outcomes.get(timeout=60).value == "whole"
        assert ran == ["first", "whole"]
    finally:
        release.set()
        executor.stop()


def test_a_fan_out_runs_on_as_many_threads_as_calls_run_at_once(workdir: Path) -> None:
    """A call is handed to a thread only once it has its share, and the thread that ends a
    call takes the next: 40 calls on 2 cores run on 2 threads, not max_workers (20)."""
    write_workflow(workdir, """
        import threading

        @task(cache=False)
        def where(i: int) -> str:
            return threading.current_thread().name

        @task(cache=False)
        def main() -> list:
            return [where(i) for i in range(40)]
    """)
    done = bridge(workdir, "run", "--cores", "2", "workflow.py", "main")
    threads = set(eval(done.stdout))
    assert 1 <= len(threads) <= 2, threads
