"""What a per-call cache hit still does for the user, now that a call whose task has cache
entries records its argument values only when the lookup misses: a miss stores them; a
hit is a CACHED job the listener sees, whose argument still names the upstream call it
came from; hits pass the context values read beneath them up to their parent's entry;
and an argument a miss cannot store fails its call with the value store's message."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge import Scheduler, get_context, task
from bridge.native.graph import ExecutionGraph
from bridge.native.settings import SchedulerSettings
from bridge.native.store import StoreError
from bridge.native.values import ValueStoreError

N = 4


@task()
def hp_source(i: int) -> int:
    return i * 10


@task()
def hp_leaf(x: int, label: str) -> str:
    return f"{label}{x}"


@task()
def hp_fan(n: int, bump: int) -> list:
    # leaf 0 takes source(bump); the other leaves' calls do not change with bump
    return [hp_leaf(hp_source(i + bump if i == 0 else i), f"s{i}") for i in range(n)]


def _jobs(scheduler: Scheduler) -> tuple[ExecutionGraph, dict[str, dict]]:
    """The last execution's graph, and its jobs by id."""
    execution_id = scheduler.store.find_executions(limit=1)[0]["execution_id"]
    graph = scheduler.store.execution_graph(execution_id)
    return graph, {job["job_id"]: job for job in graph.jobs}


def test_a_miss_stores_its_argument_values_and_a_hit_keeps_its_provenance(
        scheduler: Scheduler) -> None:
    scheduler.run(hp_fan(N, 0))
    seen: list[tuple[str, str, str]] = []
    result = scheduler.run(hp_fan(N, 100),
                           listener=lambda job, status: seen.append(
                               (job.id, job.task.fullname, status)))
    assert result == ["s01000", "s110", "s220", "s330"]
    graph, jobs = _jobs(scheduler)
    statuses = {(job["task_name"], job["status"]) for job in jobs.values()}
    assert statuses == {("hp_fan", "DONE"), ("hp_source", "DONE"), ("hp_leaf", "DONE"),
                        ("hp_source", "CACHED"), ("hp_leaf", "CACHED")}

    # The calls that missed (their tasks had entries, so they were looked up first)
    # stored their new argument values: `bridge log` shows them.
    for job in jobs.values():
        if job["status"] == "DONE" and job["task_name"] != "hp_fan":
            for argument in job["arguments"]:
                assert scheduler.store.load_value(argument["hash"]) in (100, 1000, "s0")
    # Every hit's argument values are in the store too (written by the first run).
    for job in jobs.values():
        for argument in job["arguments"]:
            scheduler.store.load_value(argument["hash"])

    # The listener saw each hit go PENDING, then CACHED.
    by_job: dict[str, list[str]] = {}
    for job_id, _, status in seen:
        by_job.setdefault(job_id, []).append(status)
    cached = [job_id for job_id, job in jobs.items() if job["status"] == "CACHED"]
    assert len(cached) == 2 * (N - 1)
    assert all(by_job[job_id] == ["PENDING", "CACHED"] for job_id in cached)

    # A hit's argument still names the upstream call of this execution it came from.
    edges = {(edge.from_job, edge.to_job, edge.argument) for edge in graph.edges}
    for leaf_id, leaf in jobs.items():
        if leaf["task_name"] == "hp_leaf" and leaf["status"] == "CACHED":
            sources = next(argument["sources"] for argument in leaf["arguments"]
                           if argument["name"] == "x")
            source_job = next(job_id for job_id, job in jobs.items()
                              if job["call_hash"] == sources[0][1])
            assert jobs[source_job]["status"] == "CACHED"
            assert (source_job, leaf_id, "x") in edges


@task()
def hp_scaled(x: int, scale: int = get_context("hp.scale", 1)) -> int:
    return x * scale


@task()
def hp_marker(bump: int) -> int:
    return bump


@task()
def hp_scaled_fan(n: int, bump: int) -> list:
    # bump changes the parent's call and hp_marker's only: every hp_scaled call hits
    return [*(hp_scaled(i) for i in range(n)), hp_marker(bump)]


def test_hits_in_a_context_pass_their_reads_up_to_the_parent(scheduler: Scheduler) -> None:
    assert scheduler.run(hp_scaled_fan(N, 0), context={"hp": {"scale": 2}}) == [0, 2, 4, 6, 0]
    # The parent runs again (bump), and all its hp_scaled calls hit.
    assert scheduler.run(hp_scaled_fan(N, 1), context={"hp": {"scale": 2}}) == [0, 2, 4, 6, 1]
    _, jobs = _jobs(scheduler)
    assert sorted(job["status"] for job in jobs.values()
                  if job["task_name"] == "hp_scaled") == ["CACHED"] * N
    # The parent's new entry holds the context read beneath it, by the hits alone: in
    # another context it is stale, and the calls beneath it run with the new scale.
    assert scheduler.run(hp_scaled_fan(N, 1), context={"hp": {"scale": 3}}) == [0, 3, 6, 9, 1]
    # In the first context again, the whole call replays.
    assert scheduler.run(hp_scaled_fan(N, 1), context={"hp": {"scale": 2}}) == [0, 2, 4, 6, 1]
    _, jobs = _jobs(scheduler)
    assert [(job["task_name"], job["status"]) for job in jobs.values()] == [
        ("hp_scaled_fan", "CACHED")]


@task()
def hp_long(text: str) -> int:
    return len(text)


@task()
def hp_lengths(letter: str, n: int) -> list:
    return [hp_long(letter * n)]


def test_a_miss_that_cannot_store_its_argument_fails_with_the_stores_message(
        workdir: Path) -> None:
    (workdir / "blocker").write_text("a file, not a folder")
    good = SchedulerSettings(db_uri=f"sqlite:///{workdir / 'bridge.db'}", inline_limit=100)
    with Scheduler(good) as scheduler:
        assert scheduler.run(hp_lengths("a", 200)) == [200]
    # hp_long has an entry now, so its next call is looked up first, and misses; its
    # 300-character argument goes to a value store that cannot be written.
    bad = SchedulerSettings(db_uri=good.db_uri, inline_limit=100,
                            value_store=str(workdir / "blocker" / "values"))
    with Scheduler(bad) as scheduler:
        with pytest.raises(ValueStoreError, match="ENOTDIR"):
            scheduler.run(hp_lengths("b", 300))
        execution_id = scheduler.store.find_executions(limit=1)[0]["execution_id"]
        jobs = scheduler.store.execution_graph(execution_id).jobs
        assert {(job["task_name"], job["status"]) for job in jobs} == {
            ("hp_lengths", "FAILED"), ("hp_long", "FAILED")}
        failed = next(job for job in jobs if job["task_name"] == "hp_long")
        assert "ENOTDIR" in failed["error"]
        with pytest.raises(StoreError):  # nothing half-written under its hash
            scheduler.store.load_value(failed["arguments"][0]["hash"])


@task()
def hp_repeats(n: int, bump: int) -> list:
    # one call object twice in the list, one call made twice, and one lazy argument
    shared = hp_source(n)
    return [shared, shared, hp_source(n), hp_source(hp_marker(n)), bump]


@task()
def hp_misfit(n: int) -> list:
    bad = hp_source(n, n)  # one argument too many: the call cannot be bound
    return [bad, bad]


def test_a_fan_out_of_plain_calls_keeps_one_job_per_call(scheduler: Scheduler) -> None:
    """A list's plain calls start without reduce's dispatch: a call object listed twice,
    or an equal call made twice, is still one job, and a hit is still CACHED."""
    assert scheduler.run(hp_repeats(2, 0)) == [20, 20, 20, 20, 0]
    _, jobs = _jobs(scheduler)
    assert sorted((job["task_name"], job["status"]) for job in jobs.values()) == [
        ("hp_marker", "DONE"), ("hp_repeats", "DONE"), ("hp_source", "DONE")]
    assert scheduler.run(hp_repeats(2, 1)) == [20, 20, 20, 20, 1]
    _, jobs = _jobs(scheduler)
    assert sorted((job["task_name"], job["status"]) for job in jobs.values()) == [
        ("hp_marker", "CACHED"), ("hp_repeats", "DONE"), ("hp_source", "CACHED")]


def test_a_listed_call_that_cannot_be_bound_fails_its_parent(scheduler: Scheduler) -> None:
    with pytest.raises(TypeError, match="hp_source was called with arguments"):
        scheduler.run(hp_misfit(3))
    _, jobs = _jobs(scheduler)
    assert [(job["task_name"], job["status"]) for job in jobs.values()] == [
        ("hp_misfit", "FAILED")]
