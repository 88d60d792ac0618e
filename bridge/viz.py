"""`bridge viz`: an execution's call graph as Graphviz DOT, rendered by `dot` to SVG or PNG,
or wrapped in a single HTML file. Jobs are coloured by status; solid edges are dataflow
(labelled with the argument they fed), dashed grey edges are parent-calls-child."""

from __future__ import annotations

import html
import shutil
import subprocess
from typing import Any

FILL = {"DONE": "#b7e4c7", "CACHED": "#d8f3dc", "RUNNING": "#a9d6e5", "PENDING": "#fff3b0",
        "FAILED": "#f4a6a6", "CANCELLED": "#e0c3fc", "INTERRUPTED": "#d9d9d9",
        "WOULD RUN": "#ffd8a8", "UNKNOWN": "#d9d9d9"}
FORMATS = ("dot", "svg", "png", "html")


class VizError(Exception):
    """The graph cannot be drawn as asked (no Graphviz, an unknown format)."""


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


def to_dot(graph: Any, execution: dict, title: str | None = None) -> str:
    """DOT text of ``graph``'s jobs (a job may bring its own ``label``, and ``predicted``
    jobs are drawn dashed) and edges; ``title`` defaults to the execution's."""
    title = title or f"Exec {execution['execution_id'][:8]}: {execution['description']}"
    lines = [
        "digraph bridge {",
        "  rankdir=LR;",
        f"  labelloc=t; label={_quote(title)};",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for job in graph.jobs:
        label = job.get("label") or f"{job['task_name']}\n{job['job_id'][:8]}  {job['status']}"
        fill = FILL.get(job["status"], "#ffffff")
        style = ', style="rounded,filled,dashed"' if job.get("predicted") else ""
        lines.append(f"  {_quote(job['job_id'])} [label={_quote(label)}, fillcolor="
                     f"{_quote(fill)}{style}, tooltip={_quote(job['status'])}];")
    for job in graph.jobs:
        if job["parent_id"]:
            lines.append(f"  {_quote(job['parent_id'])} -> {_quote(job['job_id'])} "
                         '[style=dashed, color="#999999", arrowhead=empty];')
    for edge in graph.edges:
        path = "".join(f"[{p!r}]" for p in edge.path)
        lines.append(f"  {_quote(edge.from_job)} -> {_quote(edge.to_job)} "
                     f"[label={_quote(edge.argument + path)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot: str, fmt: str) -> bytes:
    """DOT text -> the bytes of the file in ``fmt``."""
    if fmt not in FORMATS:
        raise VizError(f"unknown output format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "dot":
        return dot.encode()
    exe = shutil.which("dot")
    if exe is None:
        raise VizError("Graphviz's `dot` is not installed (apt-get install graphviz); "
                       "`-o graph.dot` writes the DOT text without it")
    graphviz_format = "svg" if fmt == "html" else fmt
    done = subprocess.run([exe, f"-T{graphviz_format}"], input=dot.encode(),
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise VizError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
    if fmt == "html":
        return _html(done.stdout.decode()).encode()
    return done.stdout


def _html(svg: str) -> str:
    start = svg.find("<svg")
    legend = "".join(
        f'<span style="background:{colour};padding:2px 8px;margin-right:6px;'
        f'border-radius:4px">{html.escape(status)}</span>'
        for status, colour in FILL.items()
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>bridge call graph</title>"
        "<style>body{font-family:Helvetica,Arial,sans-serif;margin:1em}"
        "svg{max-width:100%;height:auto}</style></head><body>"
        f"<p>{legend} &nbsp; solid: dataflow &nbsp; dashed: calls</p>"
        f"{svg[start:]}</body></html>\n"
    )
