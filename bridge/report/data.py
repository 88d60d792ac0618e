"""What `bridge report` shows of one execution, gathered from the record into one JSON-able
dict: the summary, every job (arguments, result, error, script command and output), every
file with the job that made it, each producer's upstream dataflow (as `bridge log PATH`
traces it) and the call graph as SVG. Read through a :class:`Record`: nothing is
unpickled; small text outputs are read from disk as they are now."""

from __future__ import annotations

import os
import textwrap
import time
from collections import Counter
from typing import Any

from bridge import __version__, queries
from bridge.history import (
    duration,
    execution_summary,
    files_view,
    first_failures,
    job_result_files,
    job_result_hash,
    shown_graph,
    when,
)
from bridge.native.file import files_unchanged
from bridge.provenance import upstream

PREVIEW_BYTES = 64 * 1024
GRAPH_LIMIT = 500  # jobs: the call graph is drawn inline up to this size


def gather(store: Any, row: dict) -> dict:
    """The report's data for execution ``row`` (a row of the executions table)."""
    execution_id = row["execution_id"]
    graph = shown_graph(store, execution_id)
    summary = execution_summary(store, row, graph)
    results = {job["job_id"]: job_result_hash(store, job) for job in graph.jobs}
    values = {**graph.values, **queries.values_by_hash(store, filter(None, results.values()))}
    sources = queries.tasks_by_hash(store, {job["task_hash"] for job in graph.jobs})
    producers = _producers(store, graph.jobs)
    failed_first = {job["job_id"] for job in first_failures(graph.jobs)}
    jobs = [_job(job, depth, values, results[job["job_id"]], sources,
                 job["job_id"] in failed_first) for job, depth in _tree_order(graph)]
    files = _files(files_view(store, execution_id, graph.jobs)["files"], producers)
    chains = {job_id: upstream(graph, job_id, _preview(values, results[job_id]))["blocks"]
              for job_id in sorted({f["producer"] for f in files if f["producer"]})}
    return {
        "bridge_version": __version__,
        "generated": when(time.time()),
        "execution": {
            "execution_id": execution_id, "status": summary["status"],
            "recorded_status": summary["recorded_status"], "process": summary["process"],
            "description": row["description"], "started": summary["started"],
            "ended": when(row["ended"]), "duration": summary["duration"],
            "host": row.get("host"), "tags": summary["tags"],
            "in_progress": summary["status"] == "RUNNING",
        },
        "status_counts": summary["status_counts"],
        "executors": dict(Counter(job["executor"] for job in graph.jobs)),
        "jobs": jobs,
        "files": files,
        "chains": chains,
        "graph": _graph_svg(graph, row),
    }


def _tree_order(graph: Any) -> list[tuple[dict, int]]:
    """The jobs depth first from the roots (children in start order), with their depth;
    without recursion, since a recursive workflow's tree may be thousands deep."""
    ordered: list[tuple[dict, int]] = []
    stack = [(root, 0) for root in reversed(graph.children(None))]
    while stack:
        job, depth = stack.pop()
        ordered.append((job, depth))
        stack.extend((child, depth + 1) for child in reversed(graph.children(job["job_id"])))
    return ordered


def _job(job: dict, depth: int, values: dict, result_hash: str | None, sources: dict,
         failed_first: bool) -> dict:
    details = job.get("details") or {}
    return {
        "job_id": job["job_id"], "parent_id": job["parent_id"], "depth": depth,
        "task": job["task_name"], "status": job["status"], "executor": job["executor"],
        "call_hash": job["call_hash"], "started": when(job["started"]),
        "ended": when(job["ended"]), "duration": duration(job),
        "seconds": job["ended"] - job["started"] if job["ended"] else None,
        "arguments": [{"name": a["name"], "hash": a["hash"], "preview": _preview(values, a["hash"]),
                       "files": [f[0] if isinstance(f, list) else f for f in a.get("files", ())]}
                      for a in job["arguments"]],
        "result": _preview(values, result_hash),
        "result_files": [uri for uri, *_ in job.get("result_files") or ()],
        "error": job["error"], "failed_here": failed_first,
        "resources": details.get("resources") or {},
        "script": _script(details),
        "source": (sources.get(job["task_hash"]) or {}).get("source"),
        "tags": job["tags"] or {},
    }


def _script(details: dict) -> dict | None:
    """A script's command (dedented, as it ran) and the tails of what it printed."""
    shown = {key: details[key] for key in ("command", "stdout", "stderr") if key in details}
    if "command" in shown:
        shown["command"] = textwrap.dedent(shown["command"]).strip("\n")
    return shown or None


def _preview(values: dict, value_hash: str | None) -> str | None:
    return values.get(value_hash, {}).get("preview") if value_hash else None


def _producers(store: Any, jobs: list[dict]) -> dict[str, dict]:
    """Each file a job of the execution returned (made, or replayed from the cache), and
    the job that made it: the earliest that returned it and called nothing (a parent only
    passes a child's file on), with the file's hash as that job returned it."""
    parents = {job["parent_id"] for job in jobs}
    found: dict[str, dict] = {}
    ranked = sorted(jobs, key=lambda j: (j["job_id"] in parents, j["started"]))
    for job in ranked:
        if job["status"] in ("DONE", "CACHED"):
            for entry in job_result_files(store, job):
                found.setdefault(entry[0], {"job": job, "hash": entry[1], "entry": entry})
    return found


def _files(listed: list[dict], producers: dict[str, dict]) -> list[dict]:
    """The files `bridge log --file` lists for the execution (read: r, written: w), and
    those its replayed jobs returned (mode ""), each with its producer and preview."""
    files = {entry["path"]: entry for entry in listed}
    for path, made in producers.items():
        files.setdefault(path, {"path": path, "hash": made["hash"],
                                "time": when(made["job"]["started"]), "read": False,
                                "written": False, "mode": ""})
    return [{**entry, "producer": producers[path]["job"]["job_id"] if path in producers
             else None, "preview": _text_preview(producers[path]["entry"]) if path in producers
             else None}
            for path, entry in sorted(files.items())]


def _text_preview(recorded: list) -> dict | None:
    """The text of a small local file as it is on disk now (``recorded``: its [uri, hash,
    ...] as the run returned it), or why there is none; a note when it changed since."""
    path = recorded[0]
    if "://" in path:
        return None
    try:
        size = os.path.getsize(path)
        if size > PREVIEW_BYTES:
            return None
        with open(path, "rb") as handle:
            data = handle.read(PREVIEW_BYTES + 1)
    except OSError:
        return {"text": None, "note": "not on disk now"}
    if b"\0" in data:
        return None  # binary
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    changed = not files_unchanged([recorded], temp_may_be_gone=False)
    return {"text": text, "note": "changed since this run: this is what is on disk now"
            if changed else None}


def _graph_svg(graph: Any, row: dict) -> dict:
    """The call graph as inline SVG (``bridge viz``'s drawing), or why it is missing."""
    from bridge.viz import VizError, render, to_dot

    if len(graph.jobs) > GRAPH_LIMIT:
        return {"svg": None, "note": (
            f"its {len(graph.jobs)} jobs are more than a page can draw legibly (Graphviz "
            f"takes minutes over that many); `bridge viz {row['execution_id'][:8]} -o "
            "graph.svg` draws it")}
    try:
        svg = render(to_dot(graph, row), "svg").decode()
    except VizError as error:
        return {"svg": None, "note": str(error)}
    return {"svg": svg[svg.find("<svg"):], "note": None}
