"""Killed runs, as the record's readers show them. A `bridge run` killed outright (SIGKILL,
a crashed machine, an OOM kill) never records its end: its execution stays RUNNING, and so
do its unfinished jobs. Each execution records the host, pid and start time of its
process, so a reader on the same host can see that process is gone and show the execution
and its RUNNING or PENDING jobs as INTERRUPTED; no daemon watches, and the record itself
is never rewritten by reading it. On another host nothing can be told: those stay RUNNING,
with the host and pid to look at."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bridge import queries
from bridge.native import process

INTERRUPTED = "INTERRUPTED"
UNFINISHED = ("PENDING", "RUNNING")


def shown_status(row: dict) -> tuple[str, str | None]:
    """The status to show for an execution row (INTERRUPTED when it is recorded RUNNING
    and its process is gone), and what `bridge log` says of its process: None when not
    RUNNING, or when nothing was recorded (executions from before schema version 4)."""
    if row["status"] != "RUNNING" or not row.get("host"):
        return row["status"], None
    state = process.state(row["host"], row.get("pid"), row.get("process_start"))
    if state == "gone":
        return INTERRUPTED, f"pid {row['pid']} on {row['host']} is gone: killed"
    if state == "elsewhere":
        return "RUNNING", (f"on {row['host']} pid {row['pid']}; only that host can tell "
                           "whether it still runs")
    return "RUNNING", f"pid {row['pid']}"


def interrupted_ids(store: Any, execution_ids: Iterable[str]) -> set[str]:
    """Which of these executions are recorded RUNNING but whose process is gone."""
    rows = queries.executions_by_id(store, execution_ids, status="RUNNING")
    return {row["execution_id"] for row in rows if shown_status(row)[0] == INTERRUPTED}


def shown_jobs(store: Any, jobs: list[dict]) -> list[dict]:
    """The job rows with the status to show: RUNNING or PENDING jobs of an interrupted
    execution are INTERRUPTED (their process is gone, so they will never end)."""
    gone = interrupted_ids(store, {j["execution_id"] for j in jobs if j["status"] in UNFINISHED})
    if not gone:
        return jobs
    return [{**job, "status": INTERRUPTED}
            if job["status"] in UNFINISHED and job["execution_id"] in gone else job
            for job in jobs]


def find_shown_jobs(store: Any, status: str | None = None, limit: int | None = 100,
                    **filters: Any) -> list[dict]:
    """:func:`queries.find_jobs` by the status shown: INTERRUPTED finds RUNNING and
    PENDING jobs of interrupted executions, RUNNING and PENDING leave those out."""
    if status is None or status.upper() not in (INTERRUPTED, *UNFINISHED):
        return shown_jobs(store, queries.find_jobs(store, status=status, limit=limit, **filters))
    # Unfinished jobs are few (those of runs in flight or killed): filter them all here.
    rows = shown_jobs(store, queries.find_jobs(store, status=UNFINISHED, limit=None, **filters))
    found = [row for row in rows if row["status"] == status.upper()]
    return found[:limit] if limit else found
