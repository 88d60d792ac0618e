"""Which process runs an execution, recorded so that a reader can tell later, without a
daemon, whether that process is gone (the run was killed) or may still be running.

A process is named by its host, its pid and its start time: a pid alone may be reused
by an unrelated process after the run died. The start time is the kernel's (boot id and
clock ticks since boot, from /proc), exact and comparable between processes; where /proc
is missing it is None and only the pid is checked.
"""

from __future__ import annotations

import os
import socket
from typing import Literal

ProcessState = Literal["alive", "gone", "elsewhere", "unknown"]


def current() -> dict:
    """The ``host``, ``pid`` and ``process_start`` of this process."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "process_start": _start(_stat(pid))}


def state(host: str | None, pid: int | None, process_start: str | None) -> ProcessState:
    """Whether the recorded process still runs: ``elsewhere`` when it ran on another host
    (this one cannot tell), ``unknown`` when nothing was recorded."""
    if not host or not pid:
        return "unknown"
    if host != socket.gethostname():
        return "elsewhere"
    if not _pid_alive(pid):
        return "gone"
    stat = _stat(pid)
    if stat is None or process_start is None:
        return "alive"  # the pid is taken and nothing more can be checked
    if stat[0] in ("Z", "X") or _start(stat) != process_start:
        return "gone"  # ended (a zombie not yet reaped), or the pid is reused
    return "alive"


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which is in parentheses and
    may hold spaces): the state first; None where /proc does not say."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()


def _start(stat: list[str] | None) -> str | None:
    """``<boot id>:<clock ticks since boot>`` (field 22 of the stat): exact, and never
    the same for two processes of one boot that held the same pid."""
    if stat is None:
        return None
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return f"{handle.read().strip()}:{stat[19]}"
    except OSError:
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process holds the pid
    return True
