"""`bridge run --dryrun`: which calls would run, and why each is not a cache hit."""

from __future__ import annotations

from typing import Any

from bridge.native.calling import describe_call
from bridge.native.context import CONTEXT_READ_PREFIX, marks_unchanged
from bridge.native.file import files_unchanged
from bridge.native.job import CACHED


def miss_reason(execution: Any, job: Any) -> str:
    """Why ``job`` is not replayed from the cache."""
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
        files = entry["subtree_files"] if full else entry["result_files"]
        for entry in files:
            if not files_unchanged([entry]):
                return f"file changed or missing: {entry[0]}"
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


def report(execution: Any) -> tuple[str, int]:
    """The dry run's text, and how many calls would run."""
    would_run = {job.id for job in execution.would_run}
    lines = ["Dry run: nothing ran and nothing was recorded.", ""]
    cached = 0
    for job in execution.jobs_by_hash.values():
        if job.id in would_run:
            lines.append(f"  WOULD RUN  {describe_call(job)}")
            lines.append(f"             because: {miss_reason(execution, job)}")
        elif job.status == CACHED:
            cached += 1
            lines.append(f"  CACHED     {describe_call(job)}")
    lines += ["", f"{len(would_run)} call(s) would run, {cached} would be replayed from the "
              "cache."]
    if would_run:
        lines.append("Calls made inside the bodies of calls that would run are not known until "
                     "those bodies run, so they are not listed.")
    return "\n".join(lines), len(would_run)
