"""A per-call cache hit is recorded as a job of the execution that replayed it: after one
input of a fan-out changed, `bridge log` shows the unchanged calls CACHED in the new
execution, and the dataflow traced through them still names where each argument came
from (real `bridge` processes, as a user runs them)."""

from __future__ import annotations

import json
from pathlib import Path

from workflows import bridge, ran_tasks, write_workflow

N = 5
WORKFLOW = """
@task()
def source(i: int) -> int:
    ran("source")
    return i * 10

@task()
def leaf(x: int) -> int:
    ran("leaf")
    return x + 1

@task()
def total(xs: list, out: str) -> File:
    ran("total")
    with open(out, "w") as handle:
        handle.write(str(sum(xs)))
    return File(out)

@task()
def main(n: int, bump: int = 0) -> File:
    # leaf 0 takes source(bump); the others source(i), whatever bump is
    return total([leaf(source(i + bump if i == 0 else i)) for i in range(n)], "total.txt")
"""


def test_hits_are_cached_jobs_of_the_new_execution_with_their_dataflow(workdir: Path) -> None:
    write_workflow(workdir, WORKFLOW)
    bridge(workdir, "run", "workflow.py", "main", "--n", str(N))
    assert ran_tasks(workdir) == ["leaf"] * N + ["source"] * N + ["total"]
    bridge(workdir, "run", "workflow.py", "main", "--n", str(N), "--bump", "100")
    assert ran_tasks(workdir) == ["leaf", "source", "total"]  # leaf 0's input changed

    view = json.loads(bridge(workdir, "log", "-", "--format", "json").stdout)
    jobs = {job["call"]: job for job in view["jobs"]}
    cached = {call for call, job in jobs.items() if job["status"] == "CACHED"}
    unchanged = range(1, N)
    assert cached == {f"source(i={i})" for i in unchanged} | {
        f"leaf(x={i * 10})" for i in unchanged}
    assert {call for call, job in jobs.items() if job["status"] == "DONE"} == {
        f"main(n={N}, bump=100)", "source(i=100)", "leaf(x=1000)",
        "total(xs=[1001, 11, 21, 31, 41], out='total.txt')"}
    assert view["status_counts"]["leaf"] == {"CACHED": N - 1, "DONE": 1}
    lines = bridge(workdir, "log", "-").stdout.splitlines()
    assert sum("[ CACHED  ]" in line for line in lines) == 2 * (N - 1)
    assert any("[ CACHED  ]" in line and line.endswith("leaf(x=10)") for line in lines)
    # a hit's own record: its argument, its result
    hit = json.loads(bridge(workdir, "log", jobs["leaf(x=10)"]["job_id"], "--format",
                            "json").stdout)
    assert (hit["status"], hit["execution_id"]) == ("CACHED", view["execution_id"])
    assert [(a["name"], a["preview"]) for a in hit["arguments"]] == [("x", "10")]
    assert hit["result"] == "11"

    # The total ran again; its inputs trace through the hits of this execution to the
    # calls each hit's argument came from.
    trace = json.loads(bridge(workdir, "log", "total.txt", "--format", "json").stdout)
    edges = {(edge["from_job"], edge["to_job"], edge["argument"]) for edge in trace["edges"]}
    total_job = trace["producer"]["job_id"]
    for i in unchanged:
        source_job, leaf_job = jobs[f"source(i={i})"], jobs[f"leaf(x={i * 10})"]
        assert (source_job["job_id"], leaf_job["job_id"], "x") in edges
        assert (leaf_job["job_id"], total_job, "xs") in edges
    shown = bridge(workdir, "log", "total.txt").stdout
    assert shown.count("> leaf(x") == N and shown.count("> source(i") == N
