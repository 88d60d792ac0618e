"""The report page: ``page.html`` (inline CSS and JS, shipped as package data) with the
report's data embedded as a JSON block, so the file needs no network and no server."""

from __future__ import annotations

import html
import json
import re
from importlib.resources import files

# Where page.html takes the title and the data: filled in one pass, so a description
# that holds a marker's text is shown as it is.
MARKS = re.compile(r"__BRIDGE_REPORT_(TITLE|DATA)__")


def render(data: dict) -> str:
    template = files("bridge.report").joinpath("page.html").read_text(encoding="utf-8")
    execution = data["execution"]
    title = f"bridge report: {execution['execution_id'][:8]} {execution['description']}"
    filled = {"TITLE": html.escape(title), "DATA": embed(data)}
    return MARKS.sub(lambda mark: filled[mark.group(1)], template)


def embed(data: dict) -> str:
    """JSON that is safe inside a <script> element: no ``<``, ``>`` or ``&`` appear raw
    (a ``</script>`` in a preview cannot end the block)."""
    text = json.dumps(data, default=str, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def embedded_data(page: str) -> dict:
    """The data block of a written report (tests, and anyone scripting over reports)."""
    start = page.index('<script type="application/json" id="report-data">')
    start = page.index(">", start) + 1
    return json.loads(page[start:page.index("</script>", start)])
