"""The call-graph store: what an execution records, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update

from bridge import Scheduler, task
from bridge.native import schema
from bridge.native.store import CallGraphStore, StoreError, WriteBatch


@task()
def st_reads(sample: str) -> dict:
    return {"reads1": f"{sample}_1.fq", "reads2": f"{sample}_2.fq"}


@task()
def st_align(sample: str, reads1: str, reads2: str) -> dict:
    return {"bam": f"{sample}.bam", "pairs": [reads1, reads2]}


@task()
def st_count(bam: str) -> int:
    return len(bam)


@task()
def st_pipeline(sample: str) -> int:
    reads = st_reads(sample)
    aligned = st_align(sample, reads["reads1"], reads2=reads["reads2"])
    return st_count(aligned["bam"])


def _run_pipeline(scheduler: Scheduler) -> str:
    assert scheduler.run(st_pipeline("s1"), execution_id=None) == len("s1.bam")
    return scheduler.store.find_executions(limit=1)[0]["execution_id"]


def test_execution_records_jobs_tree_and_argument_provenance(scheduler: Scheduler) -> None:
    execution_id = _run_pipeline(scheduler)
    graph = scheduler.store.execution_graph(execution_id)
    by_task = {job["task_name"]: job for job in graph.jobs}
    assert set(by_task) == {"st_pipeline", "st_reads", "st_align", "st_count"}
    root = by_task["st_pipeline"]
    assert root["parent_id"] is None
    assert all(by_task[name]["parent_id"] == root["job_id"]
               for name in ("st_reads", "st_align", "st_count"))
    assert {job["status"] for job in graph.jobs} == {"DONE"}

    edges = {(e.from_job, e.to_job, e.argument, tuple(e.path)) for e in graph.edges}
    reads, align, count = (by_task[n]["job_id"] for n in ("st_reads", "st_align", "st_count"))
    assert (reads, align, "reads1", ("reads1",)) in edges
    assert (reads, align, "reads2", ("reads2",)) in edges
    assert (align, count, "bam", ("bam",)) in edges
    sample_arg = next(a for a in by_task["st_align"]["arguments"] if a["name"] == "sample")
    assert sample_arg["sources"] == []  # a constant
    assert graph.values[sample_arg["hash"]]["preview"] == "'s1'"


def test_parent_calls_record_the_expression_they_returned(scheduler: Scheduler) -> None:
    execution_id = _run_pipeline(scheduler)
    graph = scheduler.store.execution_graph(execution_id)
    root = next(j for j in graph.jobs if j["task_name"] == "st_pipeline")
    returned = graph.calls[root["call_hash"]]["returned"]
    assert returned["task"] == "st_count"
    bam_arg = returned["args"][0]
    assert bam_arg["getitem"][0]["task"] == "st_align"
    assert bam_arg["getitem"][0]["call"] in {j["call_hash"] for j in graph.jobs}


@task()
def st_scale(x: int, factor: int = 1) -> int:
    return x * factor


@task()
def st_scaled_fan(n: int) -> list:
    return [*(st_scale(i, factor=2) for i in range(n)), st_scale(0, factor=2), 5]


def test_a_returned_list_of_calls_records_each_call_and_its_argument_values(
        scheduler: Scheduler) -> None:
    """Each call in a returned list is named by its call hash, each argument by the value
    hash its job recorded (the same call twice, too), constants by theirs: all readable."""
    assert scheduler.run(st_scaled_fan(3)) == [0, 2, 4, 0, 5]
    execution_id = scheduler.store.find_executions(limit=1)[0]["execution_id"]
    graph = scheduler.store.execution_graph(execution_id)
    jobs = {job["call_hash"]: job for job in graph.jobs}
    root = next(job for job in graph.jobs if job["task_name"] == "st_scaled_fan")
    *calls, constant = graph.calls[root["call_hash"]]["returned"]["list"]
    assert len(calls) == 4 and calls[0]["call"] == calls[3]["call"]
    for x, node in zip([0, 1, 2, 0], calls, strict=True):
        assert node["task"] == "st_scale" and set(node) == {"call", "task", "args", "kwargs"}
        (arg,), factor = node["args"], node["kwargs"]["factor"]
        recorded = [argument["hash"] for argument in jobs[node["call"]]["arguments"]]
        assert recorded == [arg["value"], factor["value"]]
        assert graph.values[arg["value"]]["preview"] == repr(x)
        assert graph.values[factor["value"]]["preview"] == "2"
    assert scheduler.store.load_value(constant["value"]) == 5


def test_a_replay_records_a_cached_job(scheduler: Scheduler) -> None:
    _run_pipeline(scheduler)
    execution_id = _run_pipeline(scheduler)
    graph = scheduler.store.execution_graph(execution_id)
    assert [(j["task_name"], j["status"]) for j in graph.jobs] == [("st_pipeline", "CACHED")]
    # the entry knows the calls it stands for, so a replay can report them
    entry = graph.calls[graph.jobs[0]["call_hash"]]
    assert entry["subtree_counts"] == {"st_pipeline": 1, "st_reads": 1, "st_align": 1,
                                       "st_count": 1}


gate = threading.Event()


@task(cache=False)
def st_slow_sibling(x: int) -> int:
    gate.wait(10)
    time.sleep(0.2)
    return x


@task(cache=False)
def st_failing(x: int) -> int:
    gate.set()
    raise ValueError(f"bad input {x}")


@task(cache=False)
def st_fan(n: int) -> list:
    return [st_slow_sibling(1), st_failing(2), *[st_slow_sibling(10 + i) for i in range(n)]]


def test_a_failure_fails_the_execution_and_leaves_no_job_running(scheduler: Scheduler) -> None:
    gate.clear()
    with pytest.raises(ValueError, match="bad input 2") as caught:
        scheduler.run(st_fan(40))
    # the original exception, with the traceback of the task body
    assert any(entry.name == "st_failing" for entry in caught.traceback)
    execution = scheduler.store.find_executions(limit=1)[0]
    assert execution["status"] == "FAILED"
    graph = scheduler.store.execution_graph(execution["execution_id"])
    statuses = {job["task_name"]: set() for job in graph.jobs}
    for job in graph.jobs:
        statuses[job["task_name"]].add(job["status"])
    assert statuses["st_failing"] == {"FAILED"}
    assert "ValueError: bad input 2" in next(
        j["error"] for j in graph.jobs if j["task_name"] == "st_failing")
    assert "DONE" in statuses["st_slow_sibling"]  # siblings already running finished
    assert not any(job["status"] in ("RUNNING", "PENDING") for job in graph.jobs)


@task()
def st_cpu(n: int) -> tuple[int, int]:
    return sum(i * i for i in range(n)), os.getpid()


@task(cache=False)
def st_cpu_fails(n: int) -> int:
    raise ArithmeticError(f"cannot sum {n}")


def test_process_mode_runs_tasks_in_other_processes(workdir: Path) -> None:
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text(
        "[executors.default]\ntype = local\nmode = processes\nmax_workers = 2\n"
    )
    with Scheduler() as scheduler:
        results = scheduler.run([st_cpu(n) for n in (10, 20, 30)])
        assert [total for total, _ in results] == [sum(i * i for i in range(n))
                                                   for n in (10, 20, 30)]
        assert os.getpid() not in {pid for _, pid in results}
        with pytest.raises(ArithmeticError, match="cannot sum 7"):
            scheduler.run(st_cpu_fails(7))
        # the original exception crosses the process boundary with the body's traceback
        execution = scheduler.store.find_executions(limit=1)[0]
        job = scheduler.store.execution_graph(execution["execution_id"]).jobs[0]
        assert "in st_cpu_fails" in job["error"]


def test_a_store_of_another_schema_version_says_what_to_run(workdir: Path) -> None:
    uri = f"sqlite:///{workdir}/bridge.db"
    store = CallGraphStore(uri).open()
    with store.engine.begin() as conn:
        conn.execute(update(schema.meta).values(value="0"))
    store.close()
    with pytest.raises(StoreError, match=r"schema version 0.*bridge db upgrade"):
        CallGraphStore(uri).open()


def test_the_store_works_on_postgresql(postgres_uri: str, workdir: Path) -> None:
    with Scheduler(db_uri=postgres_uri) as scheduler:
        assert scheduler.store.engine.dialect.name == "postgresql"
        execution_id = _run_pipeline(scheduler)
        graph = scheduler.store.execution_graph(execution_id)
        assert len(graph.jobs) == 4 and len(graph.edges) == 3
    # the rows are on the server, read over a connection of our own; nothing went to SQLite
    server = create_engine(postgres_uri)
    with server.connect() as conn:
        tasks = conn.execute(select(schema.jobs.c.task_name).where(
            schema.jobs.c.execution_id == execution_id)).scalars().all()
    server.dispose()
    assert sorted(tasks) == ["st_align", "st_count", "st_pipeline", "st_reads"]
    assert not (workdir / ".bridge" / "bridge.db").exists()
    with Scheduler(db_uri=postgres_uri) as scheduler:  # a new process would see the same
        replay = _run_pipeline(scheduler)
        jobs = scheduler.store.execution_graph(replay).jobs
        assert [j["status"] for j in jobs] == ["CACHED"]


@task(cache=False)
def st_returns_a_lock(x: int) -> object:
    return threading.Lock()


def test_a_result_that_cannot_be_recorded_fails_its_call_clearly(scheduler: Scheduler) -> None:
    with pytest.raises(TypeError, match=r"st_returns_a_lock returned lock that bridge cannot "
                                        r"record .*cannot pickle"):
        scheduler.run([st_returns_a_lock(1), st_returns_a_lock(2)])
    execution = scheduler.store.find_executions(limit=1)[0]
    assert execution["status"] == "FAILED"
    jobs = scheduler.store.execution_graph(execution["execution_id"]).jobs
    assert {job["status"] for job in jobs} == {"FAILED"}


@task(cache=False)
def st_takes_anything(value: object) -> int:
    return 1


def test_an_argument_that_cannot_be_hashed_names_the_task(scheduler: Scheduler) -> None:
    with pytest.raises(TypeError, match=r"an argument of st_takes_anything\(\.\.\.\) cannot be "
                                        r"hashed .*cannot pickle"):
        scheduler.run(st_takes_anything(threading.Lock()))


def test_an_execution_graph_indexes_the_jobs_it_holds_now() -> None:
    """Inspection replaces a graph's jobs (a killed run's shown statuses) after reading
    it: its indexes follow, rather than answer for the jobs it held first."""
    from bridge.native.graph import ExecutionGraph

    def job(job_id: str) -> dict:
        return {"job_id": job_id, "call_hash": "h", "parent_id": None, "arguments": []}

    graph = ExecutionGraph("e", [job("first")], {}, {})
    assert list(graph.by_id) == ["first"]
    graph.jobs = [job("shown")]
    assert list(graph.by_id) == ["shown"] and graph.by_call["h"]["job_id"] == "shown"
    assert [child["job_id"] for child in graph.children(None)] == ["shown"]


def test_a_calls_cache_entries_are_looked_up_newest_first(workdir: Path) -> None:
    """Entries of one call hash (recorded under different subtrees) come newest first,
    whatever order they were written in: the newest valid one is the one replayed."""
    store = CallGraphStore(f"sqlite:///{workdir / 'entries.db'}").open()
    batch = WriteBatch()
    for subtree, created in (("s1", 300.0), ("s2", 100.0), ("s3", 200.0)):
        store.add_value(batch, f"value-{subtree}", subtree)
        batch.calls[("call", subtree)] = {
            "call_hash": "call", "subtree_hash": subtree, "task_hash": "task",
            "result_hash": f"value-{subtree}", "subtree_tasks": ["task"], "result_files": [],
            "subtree_files": [], "subtree_counts": None, "returned": None,
            "job_id": f"job-{subtree}", "created": created}
    store.flush(batch)
    entries = store.lookup_calls(["call", "other"])
    assert [entry.result_hash for entry in entries["call"]] == [
        "value-s1", "value-s3", "value-s2"]
    assert "other" not in entries
    store.close()
