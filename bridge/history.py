"""What `bridge log` shows from the record: executions, jobs, calls and files. Each view
is a plain dict (what `--format json` prints) and has a text rendering."""

from __future__ import annotations

import textwrap
from datetime import datetime
from typing import Any

from bridge import queries
from bridge.interrupted import find_shown_jobs, shown_jobs, shown_status
from bridge.status import count_jobs, format_duration, plain_table

ARGS_WIDTH = 160


class NotFound(Exception):
    """No execution, job, call or file matches what the user named."""


def when(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S") if timestamp else "-"


def duration(row: dict) -> str:
    if not row.get("ended") or not row.get("started"):
        return "-"
    return format_duration(row["ended"] - row["started"])


def _short_call(job: dict, values: dict[str, dict]) -> str:
    args = ", ".join(
        f"{arg['name']}={values.get(arg['hash'], {}).get('preview', '?')}"
        for arg in job["arguments"]
    )
    text = f"{job['task_name']}({args})"
    return text if len(text) <= ARGS_WIDTH else text[: ARGS_WIDTH - 4] + "...)"


# -- resolving what the user named -----------------------------------------------------------

def resolve(store: Any, ident: str) -> tuple[str, dict]:
    """An execution, job or call by id prefix (``-`` is the latest execution)."""
    if ident == "-":
        latest = queries.latest_execution(store)
        if latest is None:
            raise NotFound("no executions are recorded yet: run `bridge run` first")
        return "execution", latest
    for kind, found in (
        ("execution", store.find_executions(ident, limit=2)),
        ("job", queries.find_jobs(store, ident, limit=2)),
        ("call", queries.find_calls(store, ident, limit=2)),
    ):
        distinct = {row.get("execution_id") if kind == "execution" else
                    row.get("job_id") if kind == "job" else row["call_hash"] for row in found}
        if len(distinct) > 1:
            raise NotFound(f"{ident!r} matches more than one {kind}: give more characters")
        if found:
            return kind, found[0]
    raise NotFound(f"no execution, job, call or file matches {ident!r}: `bridge log` lists "
                   "recent executions")


def resolve_execution(store: Any, ident: str) -> dict:
    """The execution row ``ident`` names (an id prefix, or ``-`` for the latest)."""
    kind, row = resolve(store, ident)
    if kind != "execution":
        raise NotFound(f"{ident!r} is a {kind}, not an execution: `bridge log` lists executions")
    return row


# -- executions ------------------------------------------------------------------------------

def executions_view(store: Any, limit: int) -> dict:
    rows = store.find_executions("", limit=limit)
    ids = [row["execution_id"] for row in rows]
    counts = queries.job_counts(store, ids)
    beneath = {execution_id: sum(sum(subtree.values()) - 1 for subtree in replayed.values())
               for execution_id, replayed in queries.replayed_subtrees(store, ids).items()}
    return {"executions": [
        {**_execution_fields(row),
         "jobs": counts.get(row["execution_id"], 0) + beneath.get(row["execution_id"], 0)}
        for row in rows
    ]}


def _execution_fields(row: dict) -> dict:
    status, process_note = shown_status(row)
    return {"execution_id": row["execution_id"], "status": status,
            "recorded_status": row["status"], "host": row.get("host"), "pid": row.get("pid"),
            "process": process_note, "started": when(row["started"]),
            "duration": duration(row), "description": row["description"], "tags": row["tags"]}


def _with_tags(store: Any, tags: dict, kind: str, entity_id: str) -> dict:
    """A row's own tags, and those apply_tags added to it."""
    return {**(tags or {}), **dict(queries.tags_of(store, kind, entity_id))}


def _tags_line(tags: dict) -> list[str]:
    return ["Tags: " + ", ".join(f"{k}={v}" for k, v in tags.items())] if tags else []


def _execution_line(ex: dict, id_width: int | None) -> str:
    """``Exec ID [STATUS] started:  description``, and for a run recorded RUNNING, what
    is known of its process."""
    note = f"  ({ex['process']})" if ex["process"] else ""
    return (f"Exec {ex['execution_id'][:id_width]} [{ex['status']:^9}] {ex['started']}:  "
            f"{ex['description']}{note}")


def render_executions(view: dict) -> str:
    if not view["executions"]:
        return "No executions recorded yet: `bridge run FILE TASK` records one."
    lines = ["Recent executions:", ""]
    for ex in view["executions"]:
        jobs = "1 job" if ex["jobs"] == 1 else f"{ex['jobs']} jobs"
        lines.append(f"{_execution_line(ex, 8)}  ({jobs}, {ex['duration']})")
    return "\n".join(lines)


def shown_graph(store: Any, execution_id: str) -> Any:
    """The execution's graph, its jobs as inspection shows them (a killed run's
    unfinished jobs INTERRUPTED)."""
    graph = store.execution_graph(execution_id, with_calls=False)
    graph.jobs = shown_jobs(store, graph.jobs)
    return graph


def execution_summary(store: Any, row: dict, graph: Any) -> dict:
    """What `bridge log ID` and `bridge report` say of an execution besides its jobs:
    status, times, process, tags, and jobs per task and status (replayed subtrees
    counted)."""
    subtrees = queries.replayed_subtrees(store, [row["execution_id"]]).get(row["execution_id"])
    return {**_execution_fields(row), "recorded_jobs": len(graph.jobs),
            "status_counts": count_jobs(graph.jobs, subtrees),
            "tags": _with_tags(store, row["tags"], "execution", row["execution_id"])}


def execution_view(store: Any, row: dict, task: str | None, status: str | None) -> dict:
    graph = shown_graph(store, row["execution_id"])
    values = graph.values
    filtered = bool(task or status)
    selected = {job["job_id"] for job in find_shown_jobs(
        store, execution_id=row["execution_id"], task_name=task, status=status, limit=None)
    } if filtered else set()

    def node(job: dict, depth: int) -> list[dict]:
        here = [] if filtered and job["job_id"] not in selected else [{
            "job_id": job["job_id"], "status": job["status"], "task": job["task_name"],
            "call": _short_call(job, values), "started": when(job["started"]),
            "duration": duration(job), "depth": 0 if filtered else depth}]
        for child in graph.children(job["job_id"]):
            here += node(child, depth + 1)
        return here

    jobs = [entry for root in graph.children(None) for entry in node(root, 0)]
    errors = [{"job_id": job["job_id"], "task": job["task_name"], "error": job["error"] or ""}
              for job in first_failures(graph.jobs)]
    return {**execution_summary(store, row, graph), "jobs": jobs, "errors": errors}


def first_failures(jobs: list[dict]) -> list[dict]:
    """The failed jobs where a failure started: a parent fails because a child did."""
    failed = [job for job in jobs if job["status"] == "FAILED"]
    parents_of_failed = {job["parent_id"] for job in failed}
    return [job for job in failed if job["job_id"] not in parents_of_failed]


def render_execution(view: dict) -> str:
    lines = [_execution_line(view, None), f"Duration: {view['duration']}",
             *_tags_line(view["tags"])]
    for failure in view["errors"]:
        first_line = (failure["error"].splitlines() or ["(no error recorded)"])[0]
        lines.append(f"Error: Job {failure['job_id'][:8]} {failure['task']}: {first_line}")
    lines += ["", f"Jobs: {len(view['jobs'])}"]
    for job in view["jobs"]:
        lines.append("  " + "  " * job["depth"] + f"Job {job['job_id'][:8]} "
                     f"[{job['status']:^9}] {job['started']} {job['duration']:>10}:  "
                     f"{job['call']}")
    beneath = sum(sum(c.values()) for c in view["status_counts"].values()) - view["recorded_jobs"]
    if beneath:
        lines.append(f"  (and {beneath} calls the replayed jobs stand for, counted CACHED below)")
    lines += ["", plain_table(view["status_counts"], prefix="")]
    return "\n".join(lines)


def jobs_view(store: Any, task: str | None, status: str | None, limit: int) -> dict:
    rows = find_shown_jobs(store, task_name=task, status=status, limit=limit)
    values = queries.values_by_hash(store, (a["hash"] for r in rows for a in r["arguments"]))
    return {"jobs": [{"job_id": r["job_id"], "execution_id": r["execution_id"],
                      "status": r["status"], "started": when(r["started"]),
                      "call": _short_call(r, values)} for r in rows]}


def render_jobs(view: dict) -> str:
    if not view["jobs"]:
        return "No jobs match."
    return "\n".join(f"Job {j['job_id'][:8]} [{j['status']:^9}] {j['started']}:  {j['call']}"
                     f"  (exec {j['execution_id'][:8]})" for j in view["jobs"])


# -- one job, one call -----------------------------------------------------------------------

def job_view(store: Any, job: dict) -> dict:
    job = shown_jobs(store, [job])[0]
    trail = []
    parent_id = job["parent_id"]
    while parent_id:
        parent = queries.job_by_id(store, parent_id)
        if parent is None:
            break
        trail.append(f"Job {parent['job_id'][:8]} {parent['task_name'].rsplit('.', 1)[-1]}")
        parent_id = parent["parent_id"]
    trail = [f"Exec {job['execution_id'][:8]}", *reversed(trail),
             f"Job {job['job_id'][:8]} {job['task_name'].rsplit('.', 1)[-1]}"]
    result_hash = job_result_hash(store, job)
    hashes = [a["hash"] for a in job["arguments"]] + ([result_hash] if result_hash else [])
    values = queries.values_by_hash(store, hashes)
    task = queries.tasks_by_hash(store, [job["task_hash"]]).get(job["task_hash"])
    return {
        "job_id": job["job_id"], "execution_id": job["execution_id"], "status": job["status"],
        "started": when(job["started"]), "duration": duration(job), "executor": job["executor"],
        "traceback": " > ".join(trail), "call": _short_call(job, values),
        "call_hash": job["call_hash"], "task": job["task_name"], "task_hash": job["task_hash"],
        "arguments": [{"name": a["name"], "hash": a["hash"],
                       "preview": values.get(a["hash"], {}).get("preview", "?")}
                      for a in job["arguments"]],
        "result": values.get(result_hash, {}).get("preview") if result_hash else None,
        "result_hash": result_hash,
        "source": task["source"] if task else None, "error": job["error"],
        "tags": _with_tags(store, job.get("tags"), "job", job["job_id"]),
        "result_tags": dict(queries.tags_of(store, "value", result_hash)) if result_hash else {},
    }


def job_result_hash(store: Any, job: dict) -> str | None:
    """What the job returned, as it recorded it; for jobs from before schema version 3,
    what its call's cache entry (of this job, else the newest) holds."""
    if job.get("result_hash") or job["status"] not in ("DONE", "CACHED"):
        return job.get("result_hash")
    entries = queries.calls_by_hash(store, [job["call_hash"]]).get(job["call_hash"], [])
    entry = next((e for e in entries if e["job_id"] == job["job_id"]),
                 entries[0] if entries else None)
    return entry["result_hash"] if entry else None


def render_job(view: dict, indent: str = "") -> str:
    args = ", ".join(f"{a['name']}={a['preview']}" for a in view["arguments"])
    lines = [
        f"Job {view['job_id']} [{view['status']:^9}] {view['started']}:  {view['call']}",
        f"Traceback: {view['traceback']}",
        f"Duration: {view['duration']}   Executor: {view['executor']}",
        *_tags_line(view["tags"]), "",
        f"  CallNode {view['call_hash']} {view['task']}",
        f"    Args:   {args}",
        f"    Result: {view['result'] if view['result'] is not None else '(none recorded)'}",
        *("    " + line for line in _tags_line(view["result_tags"])), "",
        f"  Task {view['task_hash']} {view['task']}", "",
    ]
    if view["source"]:
        lines += [textwrap.indent(view["source"].rstrip(), "    "), ""]
    if view["error"]:
        lines += ["  Error:", textwrap.indent(view["error"].rstrip(), "    ")]
    return textwrap.indent("\n".join(lines), indent)


def call_view(store: Any, call: dict) -> dict:
    jobs = shown_jobs(store, queries.find_jobs(store, limit=None, call_hash=call["call_hash"]))
    values = queries.values_by_hash(store, [call["result_hash"]])
    task = queries.tasks_by_hash(store, [call["task_hash"]]).get(call["task_hash"], {})
    return {"call_hash": call["call_hash"], "task": task.get("fullname"),
            "task_hash": call["task_hash"], "created": when(call["created"]),
            "result": values.get(call["result_hash"], {}).get("preview"),
            "result_files": call["result_files"],
            "jobs": [{"job_id": j["job_id"], "execution_id": j["execution_id"],
                      "status": j["status"], "started": when(j["started"])} for j in jobs]}


def render_call(view: dict) -> str:
    lines = [f"CallNode {view['call_hash']} {view['task']}", f"  Created: {view['created']}",
             f"  Result: {view['result']}", "", "  Jobs:"]
    lines += [f"    Job {j['job_id'][:8]} [{j['status']:^9}] {j['started']}  "
              f"(exec {j['execution_id'][:8]})" for j in view["jobs"]]
    return "\n".join(lines)


# -- files -------------------------------------------------------------------------------------

def files_view(store: Any, execution_id: str | None, jobs: list[dict] | None = None) -> dict:
    """Every file the recorded jobs read (a File in an argument) or wrote (a File in the
    result of a call that ran, not a parent passing its child's result on), with the
    hash a job saw: an execution's files keep their hashes after later runs. One
    execution's file shows as its first job saw it; over all executions (no
    ``execution_id``), as the newest job saw it. ``jobs`` are the execution's job rows,
    when the caller has them already."""
    if jobs is None:
        jobs = queries.find_jobs(store, execution_id=execution_id, limit=None)
    parents = {job["parent_id"] for job in jobs}
    files: dict[str, dict] = {}
    newest = execution_id is None

    def note(path: str, file_hash: str, mark: str, at: float) -> None:
        entry = files.setdefault(path, {"path": path, "hash": file_hash, "time": at,
                                        "read": False, "written": False})
        entry[mark] = True
        if newest and at >= entry["time"]:  # the jobs come oldest first
            entry["hash"], entry["time"] = file_hash, at

    for job in sorted(jobs, key=lambda j: j["started"]):
        if job["status"] == "DONE" and job["job_id"] not in parents:
            for path, file_hash, *_ in job_result_files(store, job):
                note(path, file_hash, "written", job["started"])
        for path, file_hash, *_ in argument_files(job):
            note(path, file_hash, "read", job["started"])
    listed = sorted(files.values(), key=lambda f: f["path"])
    return {"files": [{**f, "time": when(f["time"]),
                       "mode": ("r" if f["read"] else "") + ("w" if f["written"] else "")}
                      for f in listed]}


def job_result_files(store: Any, job: dict) -> list[list[str]]:
    """The [uri, hash] of the files a job returned, as that job recorded them (NULL when
    none); jobs from before schema version 3 fall back to their call's newest entry."""
    if job.get("result_hash") is not None:
        return job.get("result_files") or []
    entries = queries.calls_by_hash(store, [job["call_hash"]]).get(job["call_hash"], [])
    return entries[0]["result_files"] if entries else []


def argument_files(job: dict) -> list[list]:
    """The [uri, hash(, flags)] of the files in a job's arguments, as that job read them
    (see :func:`recorded_files`)."""
    return [item for arg in job["arguments"] for item in recorded_files(arg)]


def recorded_files(argument: dict) -> list[list]:
    """The [uri, hash(, flags)] of the files a recorded argument held. Jobs from before
    schema version 3 kept uris only: their hash is None (unknown, so it says nothing of
    a change), since inspection never unpickles an argument to ask it."""
    return [item if isinstance(item, list) else [item, None]
            for item in argument.get("files", [])]


def render_files(view: dict) -> str:
    if not view["files"]:
        return "No files recorded."
    return "\n".join(f"File {(f['hash'] or '?')[:8]:<8} {f['time']} {f['mode']:<2} {f['path']}"
                     for f in view["files"])
