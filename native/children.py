"""Child processes that job bodies start (``script()`` runs bash), tracked so that an
interrupted run stops them instead of leaving them running after bridge has exited.

Each child leads a process group of its own, so stopping it stops what it started too
(the tools a script pipes together), and a Ctrl+C in the terminal reaches bridge alone,
which then decides what to stop. Children belong to whoever runs the body: an executor's
worker threads hand theirs to the executor (`own_children`), so stopping one executor
leaves another's (another scheduler's) running; elsewhere they belong to the process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from contextvars import ContextVar
from typing import Any


class Children:
    """The running child processes of one owner."""

    def __init__(self) -> None:
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()

    def run(self, args: list[str], **popen_options: Any) -> int:
        """Run a command to its end, as ``subprocess.run`` would; returns its exit code."""
        process = subprocess.Popen(args, start_new_session=True, **popen_options)
        with self._lock:
            self._running.add(process)
        try:
            return process.wait()
        finally:
            with self._lock:
                self._running.discard(process)

    def terminate(self) -> None:
        """Send SIGTERM to every running child's process group."""
        with self._lock:
            running = list(self._running)
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)


_process_children = Children()
_owner: ContextVar[Children | None] = ContextVar("bridge_children", default=None)


def _current() -> Children:
    return _owner.get() or _process_children


def own_children(children: Children) -> None:
    """Children the calling thread starts from now on belong to ``children``."""
    _owner.set(children)


def run_child(args: list[str], **popen_options: Any) -> int:
    """Run a command to its end as a child of the calling thread's owner."""
    return _current().run(args, **popen_options)


def terminate_children() -> None:
    """Send SIGTERM to the children of the calling thread's owner."""
    _current().terminate()
