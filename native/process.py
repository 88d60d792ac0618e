"""Which process runs an execution, recorded so that a reader can tell later, without a
daemon, whether that process is gone (the run was killed) or may still be running.

A process is named by its host, its pid and its start: a pid alone may be reused by an
unrelated process after the run died. The start is ``<boot id>:<pid namespace>:<clock
ticks since boot>`` from /proc: exact, and it tells apart two machines that share a host
name and two containers that share the host's name (``--network host``) but not their pids.
Where /proc is missing it is None and only the pid is checked.
"""

from __future__ import annotations

import os
import socket
from typing import Literal

ProcessState = Literal["alive", "gone", "elsewhere", "unknown"]


def current() -> dict:
    """The ``host``, ``pid`` and ``process_start`` of this process."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "process_start": _start(pid)}


def state(host: str | None, pid: int | None, process_start: str | None) -> ProcessState:
    """Whether the recorded process still runs: ``elsewhere`` when it ran on another host,
    boot or pid namespace (this process cannot tell), ``unknown`` when nothing was
    recorded."""
    if not host or not pid:
        return "unknown"
    here = _here()
    if host != socket.gethostname() or (
            process_start and here and not process_start.startswith(here + ":")):
        return "elsewhere"
    if not _pid_alive(pid):
        return "gone"
    if process_start is None or here is None:
        return "alive"  # the pid is taken and nothing more can be checked
    stat = _stat(pid)
    if stat is None:
        return "alive"  # /proc hides other users' processes here (hidepid)
    if stat[0] in ("Z", "X") or f"{here}:{stat[19]}" != process_start:
        return "gone"  # ended (a zombie not yet reaped), or the pid is reused
    return "alive"


def _here() -> str | None:
    """``<boot id>:<pid namespace>`` of this process; None where /proc does not say."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            boot = handle.read().strip()
        namespace = os.readlink("/proc/self/ns/pid")  # pid:[4026531836]
    except OSError:
        return None
    return f"{boot}:{namespace.strip('pid:[]')}"


def _start(pid: int) -> str | None:
    here, stat = _here(), _stat(pid)
    return f"{here}:{stat[19]}" if here and stat else None


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which is in parentheses and
    may hold spaces): the state first, the start time (field 22) at index 19."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process holds the pid
    return True
