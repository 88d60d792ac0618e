"""The report page: ``page.html`` (inline CSS and JS, shipped as package data) with the
report's data embedded as a JSON block, so the file needs no network and no server."""

from __future__ import annotations

import html
import json
from importlib.resources import files

DATA_MARK = "__BRIDGE_REPORT_DATA__"
TITLE_MARK = "__BRIDGE_REPORT_TITLE__"


def render(data: dict) -> str:
    template = files("bridge.report").joinpath("page.html").read_text(encoding="utf-8")
    execution = data["execution"]
    title = f"bridge report: {execution['execution_id'][:8]} {execution['description']}"
    return template.replace(TITLE_MARK, html.escape(title)).replace(DATA_MARK, embed(data))


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
