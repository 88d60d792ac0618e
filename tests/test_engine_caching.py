"""Caching as the design fixes it, observed across runs in fresh processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workflows import bridge, ran_tasks, write_workflow

PIPELINE = """
@task()
def load(n: int) -> list:
    ran("load")
    return list(range(n))

@task()
def square(values: list) -> list:
    ran("square")
    return [v * v for v in values]

@task()
def total(values: list) -> int:
    ran("total")
    return sum(values)

@task()
def report(n: int) -> str:
    ran("report")
    return {"n": n, "sum": total(square(load(n)))}
"""


def test_second_run_replays_everything(workdir: Path) -> None:
    write_workflow(workdir, PIPELINE)
    first = bridge(workdir, "run", "workflow.py", "report", "--n", "4")
    assert ran_tasks(workdir) == ["load", "report", "square", "total"]
    second = bridge(workdir, "run", "workflow.py", "report", "--n", "4")
    assert ran_tasks(workdir) == []
    assert first.stdout == second.stdout
    assert "'sum': 14" in second.stdout


def test_editing_a_task_reruns_it_and_what_depends_on_it_and_reverting_reruns_nothing(
    workdir: Path,
) -> None:
    write_workflow(workdir, PIPELINE)
    bridge(workdir, "run", "workflow.py", "report", "--n", "4")
    ran_tasks(workdir)

    edited = PIPELINE.replace("[v * v for v in values]", "[v * v * v for v in values]")
    write_workflow(workdir, edited)
    result = bridge(workdir, "run", "workflow.py", "report", "--n", "4")
    # square changed, so its caller (report) re-runs its body; load is replayed, and
    # total re-runs because its input (square's result) changed.
    assert ran_tasks(workdir) == ["report", "square", "total"]
    assert "'sum': 36" in result.stdout

    write_workflow(workdir, PIPELINE)
    result = bridge(workdir, "run", "workflow.py", "report", "--n", "4")
    assert ran_tasks(workdir) == []
    assert "'sum': 14" in result.stdout


def test_an_edit_that_does_not_change_a_result_stops_the_reruns(workdir: Path) -> None:
    write_workflow(workdir, PIPELINE)
    bridge(workdir, "run", "workflow.py", "report", "--n", "4")
    ran_tasks(workdir)
    write_workflow(workdir, PIPELINE.replace("return list(range(n))", "return [*range(n)]"))
    bridge(workdir, "run", "workflow.py", "report", "--n", "4")
    # load re-runs (its code changed) and returns the same list: square and total replay.
    assert ran_tasks(workdir) == ["load", "report"]


def test_version_pins_the_cache_across_edits(workdir: Path) -> None:
    pinned = PIPELINE.replace("@task()\ndef square", '@task(version="1")\ndef square')
    write_workflow(workdir, pinned)
    bridge(workdir, "run", "workflow.py", "report", "--n", "3")
    ran_tasks(workdir)
    write_workflow(workdir, pinned.replace("v * v for", "v + v for"))
    result = bridge(workdir, "run", "workflow.py", "report", "--n", "3")
    assert ran_tasks(workdir) == []
    assert "'sum': 5" in result.stdout  # the pinned (old) result
    write_workflow(workdir, pinned.replace("v * v for", "v + v for").replace('"1"', '"2"'))
    result = bridge(workdir, "run", "workflow.py", "report", "--n", "3")
    assert ran_tasks(workdir) == ["report", "square", "total"]
    assert "'sum': 6" in result.stdout


def test_hash_includes_reruns_a_task_when_what_it_names_changes(workdir: Path) -> None:
    """A pinned task that reads a setting its source does not show (a tool version)."""
    pinned = PIPELINE.replace(
        "@task()\ndef square",
        'TOOL = "bwa-0.7.17"\n\n@task(version="1", hash_includes=[TOOL])\ndef square')
    write_workflow(workdir, pinned)
    bridge(workdir, "run", "workflow.py", "report", "--n", "3")
    ran_tasks(workdir)
    write_workflow(workdir, pinned.replace("0.7.17", "0.7.18"))
    bridge(workdir, "run", "workflow.py", "report", "--n", "3")
    assert ran_tasks(workdir) == ["report", "square"]  # total replays: same input


def test_cache_false_and_no_cache_always_run(workdir: Path) -> None:
    write_workflow(workdir, PIPELINE.replace("@task()\ndef load", "@task(cache=False)\ndef load"))
    bridge(workdir, "run", "workflow.py", "report", "--n", "2")
    ran_tasks(workdir)
    bridge(workdir, "run", "workflow.py", "report", "--n", "2")
    # report is a parent of an uncached call: it replays, so load is never reached.
    # Calling load directly always runs it.
    bridge(workdir, "run", "workflow.py", "load", "--n", "2")
    bridge(workdir, "run", "workflow.py", "load", "--n", "2")
    assert ran_tasks(workdir) == ["load", "load"]
    bridge(workdir, "run", "--no-cache", "workflow.py", "report", "--n", "2")
    assert ran_tasks(workdir) == ["load", "report", "square", "total"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_relative_value_store_lives_in_the_config_folder(
        workdir: Path, backend: str, request: pytest.FixtureRequest) -> None:
    """A relative value_store, and the default one of a server database, are taken from
    the config folder, whatever the working directory."""
    config, first, second = (workdir / name for name in ("config", "first", "second"))
    for folder in (config, first, second):
        folder.mkdir()
    backend_lines = "value_store = values\n" if backend == "sqlite" else (
        f"db_uri = {request.getfixturevalue('postgres_uri')}\n")  # value_store left unset
    (config / "bridge.ini").write_text(f"[backend]\n{backend_lines}inline_limit = 100\n")
    big = "@task()\ndef big(n: int) -> str:\n    ran('big')\n    return 'x' * n\n"
    results = []
    for folder in (first, second):  # one config, used from two working directories
        write_workflow(folder, big)
        results.append(bridge(folder, "run", "--config", str(config), "workflow.py", "big",
                              "--n", "1000").stdout)
    assert ran_tasks(first) == ["big"] and ran_tasks(second) == []  # replayed
    assert results[0] == results[1] and "x" * 1000 in results[1]
    assert any(path.is_file() for path in (config / "values").rglob("*"))  # the large value
    for folder in (first, second):
        assert not (folder / "values").exists() and not (folder / ".bridge").exists()


FLAKY = """
import os

@task()
def fragile(x: int) -> int:
    ran("fragile")
    if os.path.exists("fail"):
        raise ValueError("told to fail")
    return x * 10

@task()
def top(x: int) -> int:
    ran("top")
    return fragile(x)
"""


def test_a_failed_call_is_not_replayed(workdir: Path) -> None:
    write_workflow(workdir, FLAKY)
    (workdir / "fail").touch()
    failed = bridge(workdir, "run", "workflow.py", "top", "--x", "2", check=False)
    assert failed.returncode != 0
    assert "told to fail" in failed.stderr
    assert ran_tasks(workdir) == ["fragile", "top"]
    failed = bridge(workdir, "run", "workflow.py", "top", "--x", "2", check=False)
    assert ran_tasks(workdir) == ["fragile", "top"]
    (workdir / "fail").unlink()
    result = bridge(workdir, "run", "workflow.py", "top", "--x", "2")
    assert ran_tasks(workdir) == ["fragile", "top"]
    assert result.stdout.strip() == "20"


FILES = """
@task(check_valid="{mode}")
def make(path: str) -> File:
    ran("make")
    return File(path).write("data")

@task(check_valid="{mode}")
def wrap(path: str) -> dict:
    ran("wrap")
    return {{"n": 1, "inner": make(path)}}

@task(check_valid="{mode}")
def top(path: str) -> int:
    ran("top")
    return wrap(path)["n"]
"""


def test_full_validity_checks_files_in_the_whole_subtree(workdir: Path) -> None:
    write_workflow(workdir, FILES.format(mode="full"))
    bridge(workdir, "run", "workflow.py", "top", "--path", "out.txt")
    assert ran_tasks(workdir) == ["make", "top", "wrap"]
    (workdir / "out.txt").unlink()
    bridge(workdir, "run", "workflow.py", "top", "--path", "out.txt")
    # top's result (1) holds no file, but a file beneath it is gone: the subtree re-runs
    # down to the producer, and only the producer does real work again.
    assert ran_tasks(workdir) == ["make", "top", "wrap"]
    assert (workdir / "out.txt").exists()


def test_shallow_validity_checks_only_the_result(workdir: Path) -> None:
    write_workflow(workdir, FILES.format(mode="shallow"))
    bridge(workdir, "run", "workflow.py", "top", "--path", "out.txt")
    ran_tasks(workdir)
    (workdir / "out.txt").unlink()
    bridge(workdir, "run", "workflow.py", "top", "--path", "out.txt")
    assert ran_tasks(workdir) == []
    bridge(workdir, "run", "workflow.py", "make", "--path", "out.txt")
    assert ran_tasks(workdir) == ["make"]  # the missing output re-runs its producer


def test_hashes_are_equal_across_processes(workdir: Path) -> None:
    data = workdir / "data.txt"
    data.write_text("reads\n")
    os.utime(data, (1_700_000_000, 1_700_000_000))
    (workdir / "hashed.py").write_text(textwrap.dedent(f"""
        import dataclasses, pydantic, sys
        from bridge import File, task
        from bridge.native.hashing import hash_value

        @dataclasses.dataclass
        class P:
            a: int
            b: str

        class Sample(pydantic.BaseModel):
            name: str
            lanes: set[str]

        @task()
        def align(sample: str, reads: File) -> str:
            return sample

        # sets of strings and dicts iterate in an order that PYTHONHASHSEED changes
        value = [1, 2.5, 'x', b'y', None, True, {{'k': {{3, 4}}}}, (P(1, 'z'),),
                 {{'lane1', 'lane2', 'lane3'}}, frozenset('abcdef'),
                 {{name: len(name) for name in ('one', 'two', 'three')}},
                 Sample(name='s1', lanes={{'L001', 'L002'}}), File({str(data)!r})]
        print(hash_value(value), align.hash)
    """))
    env = {**os.environ, "PYTHONPATH": str(workdir)}
    outputs = {
        subprocess.run([sys.executable, "-c", "import hashed"], capture_output=True,
                       text=True, env={**env, "PYTHONHASHSEED": str(seed)}, check=True).stdout
        for seed in (1, 2, 3, 4)
    }
    assert len(outputs) == 1
    value_hash, task_hash = outputs.pop().split()
    assert len(value_hash) == len(task_hash) == 64


SLOW_FANOUT = """
import time

@task()
def step(i: int) -> int:
    ran("step")
    time.sleep(0.05)
    return i * i

@task()
def many(n: int) -> int:
    ran("many")
    return sum_of([step(i) for i in range(n)])

@task()
def sum_of(values: list) -> int:
    return sum(values)
"""


def test_a_killed_run_leaves_a_consistent_store_and_the_rerun_replays_what_finished(
    workdir: Path,
) -> None:
    import signal
    import sqlite3
    import time

    from workflows import BRIDGE

    write_workflow(workdir, SLOW_FANOUT)
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text(
        "[scheduler]\nflush_interval = 0.1\n[executors.default]\ntype = local\nmax_workers = 4\n"
    )
    process = subprocess.Popen([BRIDGE, "run", "workflow.py", "many", "--n", "200"], cwd=workdir,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until some steps are recorded, then kill -9
        log = workdir / "ran.log"
        if log.exists() and log.read_text().count("step") >= 40:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    ran_before = ran_tasks(workdir).count("step")
    assert 0 < ran_before < 200

    with sqlite3.connect(workdir / ".bridge" / "bridge.db") as db:
        dangling = db.execute(
            "SELECT count(*) FROM calls WHERE result_hash NOT IN "
            "(SELECT value_hash FROM stored_values)").fetchone()[0]
        recorded = db.execute("SELECT count(*) FROM calls").fetchone()[0]
    assert dangling == 0
    assert recorded > 0

    result = bridge(workdir, "run", "workflow.py", "many", "--n", "200")
    assert result.stdout.strip() == str(sum(i * i for i in range(200)))
    # every step recorded before the kill is replayed; only the others run again
    assert ran_tasks(workdir).count("step") == 200 - recorded
