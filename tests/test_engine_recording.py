"""When a job's row reaches the store: once, at its end, for a call that ends soon; while
it still runs, once it has run a while (even while the loop is busy with other calls)
or once the loop has nothing to do; and never lost when a tick starts more calls than
a batch holds; and a Ctrl+C that comes while a batch is written waits for the write to
end."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from collections import deque
from contextlib import closing
from pathlib import Path

import pytest

from bridge import Scheduler, task
from bridge.native import recording
from bridge.native.interrupts import interrupts_held
from bridge.native.job import FAILED, RUNNING, Argument, Job
from bridge.native.promise import Promise
from bridge.native.recording import RUNNING_ROW_AFTER, Recorder
from bridge.native.settings import SchedulerSettings
from bridge.native.store import CallGraphStore, WriteBatch


@task()
def rec_leaf(x: int) -> int:
    return x + 1


@task()
def rec_fan(n: int) -> list:
    return [rec_leaf(i) for i in range(n)]


def _started_job(recorder: Recorder, x: int, started: float) -> Job:
    job = Job(rec_leaf, None, (x,), {}, (Argument("x", f"value-{x}"),), f"call-{x}", None,
              Promise(deque()))
    job.status, job.started = RUNNING, started
    recorder.job_started(job)
    return job


def _statuses(store: CallGraphStore) -> dict[str, str]:
    return {job["call_hash"]: job["status"] for job in store.execution_graph("ex").jobs}


def test_a_long_running_job_is_shown_while_the_loop_is_busy(workdir: Path) -> None:
    """A flush that comes due while the loop is busy writes the RUNNING row of a job that
    has run RUNNING_ROW_AFTER seconds, not of one that just started; the flush of a loop
    with nothing to do writes that one too; a job that ends first has one row, its end."""
    store = CallGraphStore(f"sqlite:///{workdir / 'rec.db'}").open()
    recorder = Recorder(store, "ex", flush_interval=1e-9)  # every flush is due at once
    now = time.time()
    long_running = _started_job(recorder, 1, now - RUNNING_ROW_AFTER - 1)
    just_started = _started_job(recorder, 2, now)
    ends_soon = _started_job(recorder, 3, now)
    assert recorder.seconds_to_flush() is not None  # a running job's row is still owed
    assert _statuses(store) == {"call-1": RUNNING}
    recorder.job_status(ends_soon, FAILED, error="boom")
    recorder.flush()  # the loop found nothing to do
    assert _statuses(store) == {"call-1": RUNNING, "call-2": RUNNING, "call-3": FAILED}
    recorder.job_status(long_running, FAILED, error="late")
    recorder.flush()
    assert _statuses(store)["call-1"] == FAILED
    assert just_started.unwritten is False
    store.close()


def test_a_tick_starting_more_calls_than_a_batch_holds_records_them_all(
        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tick that starts more calls than a batch holds writes their argument values as
    it goes, and each job's row at its end: every job ends DONE, with its argument."""
    monkeypatch.setattr(recording, "BATCH_JOBS", 25)
    n = 300
    with Scheduler(SchedulerSettings(flush_interval=3600)) as scheduler:
        assert scheduler.run(rec_fan(n)) == [i + 1 for i in range(n)]
        execution = scheduler.store.find_executions(limit=1)[0]
        graph = scheduler.store.execution_graph(execution["execution_id"])
    leaves = [job for job in graph.jobs if job["task_name"] == "rec_leaf"]
    assert len(leaves) == n and {job["status"] for job in graph.jobs} == {"DONE"}
    assert sorted(int(graph.values[job["arguments"][0]["hash"]]["preview"])
                  for job in leaves) == list(range(n))


def test_a_write_failing_while_a_tick_starts_calls_fails_the_run_once(
        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch that fills with argument values while a tick starts calls, and cannot be
    written, fails the run with the store's error, not each call after it with its own
    try. The failure is made here (a store that is full on its second write);
    tests/test_store_write_faults.py fills a real file system."""
    monkeypatch.setattr(recording, "BATCH_JOBS", 25)
    writes: list[int] = []
    real_flush = CallGraphStore.flush

    def flush_then_fill_up(store: CallGraphStore, batch: WriteBatch) -> None:
        writes.append(len(batch.values))
        if len(writes) > 1:
            raise sqlite3.OperationalError("database or disk is full")
        real_flush(store, batch)

    monkeypatch.setattr(CallGraphStore, "flush", flush_then_fill_up)
    with Scheduler(SchedulerSettings(flush_interval=3600)) as scheduler, \
            pytest.raises(sqlite3.OperationalError, match="disk is full"):
        scheduler.run(rec_fan(300))
    assert writes[1] >= 25  # the tick's argument values filled the batch
    assert len(writes) < 10  # when full, and as the run ends: not once per call after it


def test_ctrl_c_during_a_write_is_raised_once_the_write_ends() -> None:
    """A real SIGINT sent while a batch is written lets the write finish, then stops the
    run with KeyboardInterrupt as usual (and the handler is the usual one again)."""
    steps: list[str] = []
    with pytest.raises(KeyboardInterrupt), interrupts_held():
        os.kill(os.getpid(), signal.SIGINT)  # its handler runs at once, as the call returns
        steps.append("written")
    assert steps == ["written"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@task()
def rec_named(naïve: int, upstream: int) -> int:  # a name that JSON escapes
    return naïve + upstream


@task()
def rec_named_fan() -> int:
    return rec_named(1, upstream=rec_leaf(2))


def test_job_rows_record_each_argument_as_json_writes_it(workdir: Path) -> None:
    """A job row's arguments, written without the JSON encoder for most arguments, read
    back as json.dumps would have written them: a name JSON escapes, a constant, and an
    argument that came from another call with its source."""
    with Scheduler(SchedulerSettings(flush_interval=3600)) as scheduler:
        assert scheduler.run(rec_named_fan()) == 4
        execution = scheduler.store.find_executions(limit=1)[0]
        graph = scheduler.store.execution_graph(execution["execution_id"])
    with closing(sqlite3.connect(workdir / ".bridge" / "bridge.db")) as conn:
        texts = dict(conn.execute("SELECT job_id, arguments FROM jobs"))
    named = next(job for job in graph.jobs if job["task_name"] == "rec_named")
    leaf = next(job for job in graph.jobs if job["task_name"] == "rec_leaf")
    assert [argument["name"] for argument in named["arguments"]] == ["naïve", "upstream"]
    assert named["arguments"][0]["sources"] == []
    assert named["arguments"][1]["sources"] == [[[], leaf["call_hash"], []]]
    for job in graph.jobs:
        assert texts[job["job_id"]] == json.dumps(job["arguments"])
