"""What the engine's memory savings must not cost: callbacks still run in the order they
were given, and a run that lets go of its jobs before its last flush still records them
all (the flush that writes a run's end writes whatever the run had not written yet)."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest

from bridge import Scheduler, task
from bridge.native.promise import Promise
from bridge.native.settings import SchedulerSettings


def _drain(ready: deque) -> None:
    while ready:
        callback, argument = ready.popleft()
        callback(argument)


@pytest.mark.parametrize(("settle", "expected"), [("resolve", "value"), ("reject", "error")])
def test_a_promise_runs_every_callback_in_the_order_given(settle: str, expected: str) -> None:
    """The first pair of callbacks sits apart from the others: all still run, in order,
    for a value and for an error, and one added after the promise settled runs too."""
    ready: deque = deque()
    promise = Promise(ready)
    seen: list[tuple[int, str]] = []
    for index in range(4):
        promise.then(lambda _v, i=index: seen.append((i, "value")),
                     lambda _e, i=index: seen.append((i, "error")))
    getattr(promise, settle)(ValueError("x") if settle == "reject" else 1)
    getattr(promise, settle)(2)  # a second settlement is ignored
    promise.then(lambda _v: seen.append((4, "value")), lambda _e: seen.append((4, "error")))
    _drain(ready)
    assert seen == [(index, expected) for index in range(5)]


@task()
def mem_leaf(x: int) -> int:
    return x * 3


@task()
def mem_fan(n: int) -> list:
    return [mem_leaf(i) for i in range(n)]


# 3,000 calls: their returned expression's JSON is written in several chunks.
@pytest.mark.parametrize("n", [30, 3000])
def test_the_last_flush_still_records_a_run_that_let_go_of_its_jobs(workdir: Path,
                                                                   n: int) -> None:
    """With nothing flushed while it runs (a long flush interval), everything a fan-out
    records goes in the flush at its end, after the execution dropped its jobs and
    expressions: every job, its arguments and the parent's returned expression, whole."""
    settings = SchedulerSettings(flush_interval=3600)
    with Scheduler(settings) as scheduler:
        assert scheduler.run(mem_fan(n)) == [3 * i for i in range(n)]
        execution = scheduler.store.find_executions(limit=1)[0]
        assert execution["status"] == "DONE"
        graph = scheduler.store.execution_graph(execution["execution_id"])
    leaves = [job for job in graph.jobs if job["task_name"] == "mem_leaf"]
    assert len(leaves) == n and {job["status"] for job in graph.jobs} == {"DONE"}
    leaf_of = {int(graph.values[job["arguments"][0]["hash"]]["preview"]): job
               for job in leaves}
    assert sorted(leaf_of) == list(range(n))
    root = next(job for job in graph.jobs if job["task_name"] == "mem_fan")
    returned = graph.calls[root["call_hash"]]["returned"]["list"]
    assert returned == [
        {"call": leaf_of[i]["call_hash"], "task": leaf_of[i]["task_name"],
         "args": [{"value": leaf_of[i]["arguments"][0]["hash"]}], "kwargs": {}}
        for i in range(n)]
