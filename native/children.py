"""Child processes that job bodies start (``script()`` runs bash), tracked so that an
interrupted run stops them instead of leaving them running after bridge has exited.

Each child leads a process group of its own, so stopping it stops what it started too
(the tools a script pipes together), and a Ctrl+C in the terminal reaches bridge alone,
which then decides what to stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from typing import Any

_running: set[subprocess.Popen] = set()
_lock = threading.Lock()


def run_child(args: list[str], **popen_options: Any) -> int:
    """Run a command to its end, as ``subprocess.run`` would; returns its exit code."""
    process = subprocess.Popen(args, start_new_session=True, **popen_options)
    with _lock:
        _running.add(process)
    try:
        return process.wait()
    finally:
        with _lock:
            _running.discard(process)


def terminate_children() -> None:
    """Send SIGTERM to every running child's process group."""
    with _lock:
        running = list(_running)
    for process in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
