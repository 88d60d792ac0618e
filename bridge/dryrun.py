"""`bridge run --dryrun`: which calls would run, and why each is not a cache hit."""

from __future__ import annotations

from typing import Any

from bridge.native.context import CONTEXT_READ_PREFIX, marks_unchanged
from bridge.native.file import files_unchanged
from bridge.version_drift import dryrun_lines as drift_lines


def miss_reason(execution: Any, job: Any, root: bool) -> str:
    """Why ``job`` is not replayed from the cache; ``root``: it is a top-level call, whose
    result the run hands over, so the files in its result must all be there."""
    from bridge import queries

    store = execution.store
    if not job.use_cache:
        return "cache disabled (--no-cache)" if not execution.use_cache else \
            "cache disabled (the task has cache=False)"
    entries = queries.calls_by_hash(store, [job.call_hash]).get(job.call_hash, [])
    if not entries:
        return _never_cached(store, job)
    current = execution.scheduler.current_task_hashes()
    full = job.option("check_valid", job.task.check_valid) == "full"
    for entry in entries:  # newest first: explain the most recent one
        reads = [h for h in entry["subtree_tasks"] if h.startswith(CONTEXT_READ_PREFIX)]
        changed = [h for h in entry["subtree_tasks"] if h not in current and h not in reads]
        changed_reads = [h for h in reads if not marks_unchanged([h], job.context)]
        if changed_reads:
            paths = sorted({h[len(CONTEXT_READ_PREFIX):].rpartition("=")[0]
                            for h in changed_reads})
            return "context value changed beneath it: " + ", ".join(paths)
        if changed:
            names = queries.tasks_by_hash(store, changed)
            shown = sorted({names[h]["fullname"] for h in changed if h in names}) or changed
            return "task code changed beneath it: " + ", ".join(shown)
        if root:
            for file in entry["result_files"]:
                if not files_unchanged([file], temp_may_be_gone=False):
                    return f"file changed or missing: {file[0]} (in its result)"
        for file in entry["subtree_files"] if full else entry["result_files"]:
            if not files_unchanged([file]):
                return f"file changed or missing: {file[0]}"
    return "its cached result cannot be read"


def _never_cached(store: Any, job: Any) -> str:
    from bridge import queries

    previous = queries.find_jobs(store, task_name=job.task.fullname, limit=200)
    previous = [row for row in previous if row["task_name"] == job.task.fullname]
    if not previous:
        return "no cache entry: the task never ran"
    wanted = {arg["name"]: arg["hash"] for arg in job.arguments}
    for row in previous:
        if {a["name"]: a["hash"] for a in row["arguments"]} == wanted:
            return "task code changed since the cached call"
    same_code = [row for row in previous if row["task_hash"] == job.task.hash]
    reference = (same_code or previous)[0]
    before = {a["name"]: a["hash"] for a in reference["arguments"]}
    differ = sorted(name for name in wanted.keys() | before.keys()
                    if wanted.get(name) != before.get(name))
    what = "new argument values: " + ", ".join(differ)
    return what if same_code else f"task code changed, and {what}"


def report(execution: Any, roots: list) -> str:
    """The dry run's text: ``roots``, its plan (``dryrun_plan.plan_run``), with counts."""
    from bridge.dryrun_plan import REPLAYS, WOULD_RUN, all_nodes, plan_lines

    nodes = all_nodes(roots)
    would_run = sum(node.status == WOULD_RUN for node in nodes)
    predicted = sum(node.status == WOULD_RUN and node.predicted for node in nodes)
    cached = sum(node.status == REPLAYS for node in nodes)
    lines = ["Dry run: nothing ran and nothing was recorded.", "", *plan_lines(roots),
             *drift_lines(execution), ""]
    lines.append(f"{would_run} call(s) would run ({predicted} of them predicted), {cached} "
                 "would be replayed from the cache.")
    if predicted:
        lines.append("Predicted calls are those the body made the last time it ran: this "
                     "time it may make other calls.")
    if any(node.status == WOULD_RUN and node.template is None for node in nodes):
        lines.append("Calls made inside the bodies of calls that never ran before are not "
                     "known until those bodies run, so they are not listed.")
    return "\n".join(lines)
