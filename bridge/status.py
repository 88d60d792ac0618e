"""The job-status table: per task, how many jobs are PENDING, RUNNING, FAILED, CACHED and
DONE. Live while `bridge run` runs (redrawn in place on a terminal, periodic plain lines
otherwise), and from the record in `bridge log`."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

COLUMNS = ("PENDING", "RUNNING", "FAILED", "CACHED", "DONE")
STYLES = {"PENDING": "yellow", "RUNNING": "cyan", "FAILED": "bold red", "CACHED": "green",
          "DONE": "bold green", "CANCELLED": "magenta",
          "INTERRUPTED": "magenta"}
Counts = dict[str, dict[str, int]]  # task name -> status -> number of jobs


class StatusBoard:
    """The engine's job listener: keeps the latest status of every job. Called from the
    execution's thread, read from the display's; a lock keeps the two apart."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: dict[str, str] = {}
        self._counts: Counts = {}
        self._running: dict[str, Any] = {}  # job id -> job, while RUNNING
        self.started = time.monotonic()
        self.changed = self.started  # when a job last changed status

    def __call__(self, job: Any, status: str) -> None:
        with self._lock:
            self.changed = time.monotonic()
            if status == "RUNNING":
                self._running[job.id] = job
            else:
                self._running.pop(job.id, None)
            previous = self._status.get(job.id)
            counts = self._counts.get(job.task.fullname)
            if counts is None:
                counts = self._counts[job.task.fullname] = {}
            if previous is not None:
                counts[previous] -= 1
            counts[status] = counts.get(status, 0) + 1
            self._status[job.id] = status
            if status == "CACHED" and job.subtree_counts:
                count_replayed_subtree(self._counts, job.task.fullname, job.subtree_counts)

    def snapshot(self) -> Counts:
        with self._lock:
            return {task: dict(counts) for task, counts in self._counts.items()}

    def running(self) -> list[Any]:
        """The jobs whose bodies run, longest running first (a parent stays RUNNING while
        its children run, once its body returned: it is left out)."""
        with self._lock:
            jobs = [job for job in self._running.values() if job.returned is None]
        return sorted(jobs, key=lambda job: job.started)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def unchanged(self) -> float:
        """Seconds since a job last changed status."""
        return time.monotonic() - self.changed


def count_replayed_subtree(counts: Counts, task_name: str, subtree: dict[str, int]) -> None:
    """A replayed parent stands for every call beneath it: count those as CACHED too, as a
    run that walked the tree would (the record keeps the parent's job only)."""
    for name, n in subtree.items():
        beneath = n - 1 if name == task_name else n
        if beneath:
            per_task = counts.setdefault(name, {})
            per_task["CACHED"] = per_task.get("CACHED", 0) + beneath


def count_jobs(rows: Iterable[dict], subtrees: dict[str, dict] | None = None) -> Counts:
    """Counts from recorded job rows (`bridge log`), with the calls beneath the replayed
    parents (``subtrees``: job id -> {task name: calls}), as the live table counts them."""
    counts: Counts = {}
    for row in rows:
        per_task = counts.setdefault(row["task_name"], {})
        per_task[row["status"]] = per_task.get(row["status"], 0) + 1
        subtree = (subtrees or {}).get(row["job_id"])
        if subtree and row["status"] == "CACHED":
            count_replayed_subtree(counts, row["task_name"], subtree)
    return counts


def _columns(counts: Counts) -> tuple[str, ...]:
    """The usual columns, and CANCELLED or INTERRUPTED (a killed run's, in `bridge log`)
    when any job has it."""
    extra = [s for s in ("CANCELLED", "INTERRUPTED") if any(c.get(s) for c in counts.values())]
    return (*COLUMNS, *extra)


def _rows(counts: Counts) -> list[tuple[str, dict[str, int]]]:
    total: dict[str, int] = {}
    for per_task in counts.values():
        for status, n in per_task.items():
            total[status] = total.get(status, 0) + n
    return [("ALL", total), *sorted(counts.items())]


def plain_table(counts: Counts, prefix: str = "[bridge] | ") -> str:
    """The table as redun prints it: fixed-width text lines."""
    columns = _columns(counts)
    rows = _rows(counts)
    width = max([len("TASK"), *(len(name) for name, _ in rows)]) + 2
    widths = [max(10, len(c) + 2) for c in (*columns, "TOTAL")]
    header = "TASK".ljust(width) + "".join(f"{c:>{w}}" for c, w in zip(
        (*columns, "TOTAL"), widths, strict=True))
    lines = [f"JOB STATUS {datetime.now():%Y/%m/%d %H:%M:%S}", header, ""]
    for name, per_task in rows:
        numbers = [per_task.get(c, 0) for c in columns]
        lines.append(name.ljust(width) + "".join(f"{n:>{w}}" for n, w in zip(
            (*numbers, sum(per_task.values())), widths, strict=True)))
    return "\n".join(prefix + line for line in lines)


def summary_line(counts: Counts, elapsed: float) -> str:
    """One line for logs and pipes: the ALL row."""
    total = _rows(counts)[0][1]
    parts = " ".join(f"{c} {total.get(c, 0)}" for c in _columns(counts))
    return f"[bridge] {datetime.now():%H:%M:%S} {parts} TOTAL {sum(total.values())} " \
           f"({format_duration(elapsed)})"


def running_line(jobs: list[Any], unchanged: float, shown: int = 5) -> str:
    """For logs and pipes, when nothing changed for a while: what is still running, and
    for how long, longest first."""
    from bridge.native.calling import describe_call

    now = time.time()
    calls = [f"{describe_call(job)} for {format_duration(now - job.started)}"
             for job in jobs[:shown]]
    more = f"; and {len(jobs) - shown} more" if len(jobs) > shown else ""
    return (f"[bridge] {datetime.now():%H:%M:%S} no change for {format_duration(unchanged)}; "
            f"RUNNING: {'; '.join(calls)}{more}")


def rich_table(counts: Counts, elapsed: float | None = None) -> Any:
    from rich.table import Table

    title = f"JOB STATUS {datetime.now():%Y/%m/%d %H:%M:%S}"
    if elapsed is not None:
        title += f"  elapsed {format_duration(elapsed)}"
    table = Table(title=title, title_justify="left", box=None, header_style="bold")
    columns = _columns(counts)
    table.add_column("TASK")
    for column in (*columns, "TOTAL"):
        table.add_column(column, justify="right", style=STYLES.get(column, ""))
    for index, (name, per_task) in enumerate(_rows(counts)):
        numbers = [str(per_task.get(c, 0)) for c in columns]
        table.add_row(name, *numbers, str(sum(per_task.values())),
                      style="bold" if index == 0 else None, end_section=index == 0)
    return table


def format_duration(seconds: float) -> str:
    """``0:00:03.25``: hours, minutes, seconds to the hundredth."""
    hours, rest = divmod(max(seconds, 0.0), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:05.2f}"


class PlainConsole:
    """The status's console when stderr is no terminal (a log file, a pipe, CI): each
    line written as it is. rich's Console would write the same lines, but loading rich is
    a tenth of a fully cached `bridge run`."""

    is_terminal = False

    def print(self, line: str, **_: Any) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def status_console() -> Any:
    """rich's Console on stderr where rich may take stderr for a terminal (a tty, or
    ``FORCE_COLOR`` / ``TTY_COMPATIBLE=1``: rich decides, and shows a live table), else a
    :class:`PlainConsole`."""
    try:
        tty = sys.stderr.isatty()
    except ValueError:  # closed
        tty = False
    if tty or os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1":
        from rich.console import Console

        return Console(stderr=True)
    return PlainConsole()


class LiveStatus:
    """Shows a StatusBoard while a run lasts: a rich Live table redrawn ~4 times a second
    on a terminal, else a summary line every `interval` seconds, and, once no job changed
    for `quiet` seconds, a line naming the running calls (again every `quiet` seconds
    while nothing changes); the full table at the end."""

    def __init__(self, board: StatusBoard, console: Any, interval: float = 10.0,
                 quiet: float = 60.0) -> None:
        self.board = board
        self.console = console
        self.interval = interval
        self.quiet = quiet
        self._live: Any = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __rich__(self) -> Any:
        return rich_table(self.board.snapshot(), self.board.elapsed)

    def __enter__(self) -> LiveStatus:
        if self.console.is_terminal:
            from rich.live import Live

            self._live = Live(self, console=self.console, refresh_per_second=4,
                              redirect_stdout=True, redirect_stderr=False)
            self._live.start()
        else:
            self._ticker = threading.Thread(target=self._tick, daemon=True,
                                            name="bridge-status")
            self._ticker.start()
        return self

    def _tick(self) -> None:
        named = float("-inf")  # when the running calls were last named
        while not self._stop.wait(self.interval):
            self.print_line(summary_line(self.board.snapshot(), self.board.elapsed))
            unchanged = self.board.unchanged
            now = time.monotonic()
            if unchanged >= self.quiet and now - named >= self.quiet:
                jobs = self.board.running()
                if jobs:
                    self.print_line(running_line(jobs, unchanged))
                    named = now

    def print_line(self, line: str) -> None:
        """A line above the live table (or between the summary lines)."""
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def __exit__(self, *_: Any) -> None:
        if self._live is not None:
            self._live.stop()  # leaves the last table on screen
            return
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        self.print_line(plain_table(self.board.snapshot()))
