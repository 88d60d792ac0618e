"""`bridge log PATH`: the job that produced a file, and its upstream dataflow down to the
origins. Each argument is traced to the call whose result it came from (the recorded
argument sources), or through the enclosing parent's arguments when a body passed its own
argument on, until it reaches a constant: an origin."""

from __future__ import annotations

import os
from collections import deque
from typing import Any

from bridge import queries
from bridge.history import NotFound, files_view, job_view, render_job, when


def producer(store: Any, path: str) -> tuple[dict, dict]:
    """The newest call whose result holds ``path``, preferring leaves (a parent only
    passes on what a child made), and the job that ran it."""
    entries = calls_for_path(store, path)
    if not entries:
        raise NotFound(f"no recorded job produced a file {path!r}: check the path "
                       "(`bridge log --file` lists the recorded files)")
    entries.sort(key=lambda e: (e["returned"] is None, e["created"]), reverse=True)
    for entry in entries:
        job = queries.job_by_id(store, entry["job_id"])
        if job is not None:
            return entry, job
    raise NotFound(f"the job that produced {path!r} is no longer recorded")


def calls_for_path(store: Any, path: str) -> list[dict]:
    """Cache entries holding ``path`` as given, or as its absolute or relative form."""
    forms = [path]
    if "://" not in path:
        forms += [os.path.abspath(path), os.path.relpath(path)]
    for form in dict.fromkeys(forms):
        entries = queries.calls_with_file(store, form)
        if entries:
            return entries
    return []


def file_view(store: Any, path: str) -> dict:
    entry, job = producer(store, path)
    path, file_hash = next((uri, h) for uri, h, *_ in entry["result_files"]
                           if uri in (path, os.path.abspath(path), os.path.relpath(path)))
    graph = store.execution_graph(job["execution_id"], with_calls=False)
    # r/w as `bridge log --file` marks it in the producer's execution: rw when read later
    mode = next((f["mode"] for f in files_view(store, job["execution_id"], graph.jobs)["files"]
                 if f["path"] == path), "w")
    producer_view = job_view(store, job)
    return {
        "file": {"path": path, "hash": file_hash, "time": when(entry["created"]),
                 "mode": mode},
        "producer": producer_view,
        **upstream(graph, job["job_id"], producer_view["result"]),
    }


class _Names:
    """Unique variable names: the argument's name, then name_2, name_3, ..."""

    def __init__(self) -> None:
        self.used: dict[tuple[str, str], str] = {}
        self.taken: set[str] = {"result"}

    def __call__(self, job_id: str, name: str) -> str:
        key = (job_id, name)
        if key not in self.used:
            candidate, n = name, 1
            while candidate in self.taken:
                n += 1
                candidate = f"{name}_{n}"
            self.taken.add(candidate)
            self.used[key] = candidate
        return self.used[key]


def upstream(graph: Any, job_id: str, result_preview: str | None) -> dict:
    """Blocks (one per traced variable, in breadth-first order) and the dataflow edges
    between calls (``from`` call's result fed ``argument`` of the ``to`` call)."""
    jobs = {job["job_id"]: job for job in graph.jobs}
    by_call: dict[str, dict] = {}
    for job in graph.jobs:
        by_call.setdefault(job["call_hash"], job)
    values = graph.values
    names = _Names()

    def step(job: dict) -> dict:
        return {"job_id": job["job_id"], "call_hash": job["call_hash"],
                "task": job["task_name"],
                "arguments": [{"name": a["name"], "variable": names(job["job_id"], a["name"]),
                               "hash": a["hash"], "files": _file_uris(a),
                               "preview": values.get(a["hash"], {}).get("preview", "?")}
                              for a in job["arguments"]]}

    root = jobs[job_id]
    blocks: list[dict] = [{"variable": "result", "hops": [],
                           "end": {"kind": "call", "path": [], **step(root)},
                           "preview": result_preview}]
    edges: list[dict] = []
    queue: deque[tuple[dict, dict]] = deque((root, arg) for arg in root["arguments"])
    seen: set[tuple[str, str]] = set()
    while queue:
        job, arg = queue.popleft()
        key = (job["job_id"], arg["name"])
        if key in seen:
            continue
        seen.add(key)
        block: dict[str, Any] = {"variable": names(job["job_id"], arg["name"]), "hops": []}
        holder, held = job, arg
        file_matches: list[dict] = []
        while not held["sources"]:  # a constant in the body: maybe the parent's argument
            parent = jobs.get(holder["parent_id"]) if holder["parent_id"] else None
            if parent is None:
                break
            match = next((a for a in parent["arguments"] if a["hash"] == held["hash"]), None)
            if match is None:
                # Built in the parent's body from its arguments (a script's staged inputs):
                # follow the files it holds to the parent's arguments that hold them.
                file_matches = _arguments_holding_files(parent, held)
                if len(file_matches) == 1:
                    match, file_matches = file_matches[0], []
            if match is None:
                break
            block["hops"].append({"kind": "argument_of", "job_id": parent["job_id"],
                                  "call_hash": parent["call_hash"], "task": parent["task_name"],
                                  "argument": match["name"]})
            holder, held = parent, match
        sources = [s for s in held["sources"] if s[1] in by_call]
        if file_matches:
            parent = jobs[holder["parent_id"]]
            block["hops"].append({"kind": "argument_of", "job_id": parent["job_id"],
                                  "call_hash": parent["call_hash"], "task": parent["task_name"],
                                  "argument": ", ".join(a["name"] for a in file_matches)})
            block["end"] = {"kind": "variables",
                            "variables": [names(parent["job_id"], a["name"])
                                          for a in file_matches]}
            queue.extend((parent, a) for a in file_matches)
        elif holder is not job and sources:
            # Traced to an argument of an enclosing parent that has its own block.
            block["end"] = {"kind": "variable",
                            "variable": names(holder["job_id"], held["name"])}
            queue.append((holder, held))
        elif sources:
            parts = [{"path": path, "subpath": subpath, **step(by_call[call_hash])}
                     for subpath, call_hash, path in sources]
            if len(parts) == 1 and not parts[0]["subpath"]:
                block["end"] = {"kind": "call", **parts[0]}
            else:  # parts of the value (a list's items) came from different calls
                block["end"] = {"kind": "parts", "parts": parts}
            for subpath, call_hash, path in sources:
                source_job = by_call[call_hash]
                edges.append({"from_job": source_job["job_id"], "from_call": call_hash,
                              "from_task": source_job["task_name"], "to_job": holder["job_id"],
                              "to_task": holder["task_name"], "argument": held["name"],
                              "path": path, "subpath": subpath})
                queue.extend((source_job, a) for a in source_job["arguments"])
        else:
            block["end"] = {"kind": "origin"}
        blocks.append(block)
    return {"blocks": blocks, "edges": edges}


def _arguments_holding_files(parent: dict, held: dict) -> list[dict]:
    """The parent's arguments that hold any of the files ``held`` holds."""
    files = set(_file_uris(held))
    if not files:
        return []
    return [a for a in parent["arguments"] if files.intersection(_file_uris(a))]


def _file_uris(argument: dict) -> list[str]:
    """The uris of the files a recorded argument held: [uri, hash] pairs since schema
    version 3, bare uris before."""
    return [item[0] if isinstance(item, list) else item for item in argument.get("files", ())]


def render_file(view: dict) -> str:
    file = view["file"]
    producer_job = view["producer"]
    lines = [f"File {file['hash'][:8]} {file['time']} {file['mode']:<2} {file['path']}",
             f"Produced by Job {producer_job['job_id'][:8]}", "",
             render_job(producer_job, indent="  "), "    Upstream dataflow:", ""]
    for block in view["blocks"]:
        lines += [("      " + line).rstrip() for line in _render_block(block)] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _render_block(block: dict) -> list[str]:
    var = block["variable"]
    pad = " " * len(var)
    if var == "result" and block.get("preview") is not None:
        lines = [f"result = {block['preview']}", ""]
    else:
        lines = []
    first = True
    for hop in block["hops"]:
        lines.append(f"{var if first else pad} <-- argument of <{hop['call_hash'][:8]}> "
                     f"{_short(hop['task'])}(...).{hop['argument']}")
        first = False
    end = block["end"]
    lead = var if first else pad
    if end["kind"] == "origin":
        lines.append(f"{lead} <-- origin")
    elif end["kind"] == "variable":
        lines.append(f"{lead} <-- {end['variable']}")
    elif end["kind"] == "variables":
        lines.append(f"{lead} <-- {', '.join(end['variables'])}")
    elif end["kind"] == "parts":
        lines.append(f"{lead} <-- derives from")
        lines += [f"  {_keys(part['subpath'])} <-- {_call_text(part)}" for part in end["parts"]]
        lines += _argument_lines([a for part in end["parts"] for a in part["arguments"]])
    else:
        lines.append(f"{lead} <-- {_call_text(end)}")
        lines += _argument_lines(end["arguments"])
    return lines


def _call_text(end: dict) -> str:
    """``<call hash> task(variables)[path into its result]``."""
    args = ", ".join(a["variable"] for a in end["arguments"])
    return f"<{end['call_hash'][:8]}> {_short(end['task'])}({args}){_keys(end['path'])}"


def _keys(path: list) -> str:
    return "".join(f"[{key!r}]" for key in path)


def _argument_lines(arguments: list[dict]) -> list[str]:
    """``  variable = <hash> preview`` for each variable once, aligned."""
    unique = list({a["variable"]: a for a in arguments}.values())
    width = max((len(a["variable"]) for a in unique), default=0)
    lines = []
    for a in unique:
        lines.append(f"  {a['variable']:<{width}} = <{a['hash'][:8]}> {a['preview']}")
        if a["preview"].endswith("...") and a["files"]:
            # the preview was cut short: name every file the argument holds
            lines += [f"  {'':<{width}}   {uri}" for uri in a["files"]]
    return lines


def _short(task_name: str) -> str:
    return task_name.rsplit(".", 1)[-1]
