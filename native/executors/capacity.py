"""The local executor's capacity: the cores and memory its running calls take a share of.

Each call takes its ``vcpus`` option (1 when it names none) and its ``memory`` option
(GiB; 0 when it names none) while it runs. Calls start in the order they arrive as long
as their share fits; a call that does not fit yet waits, and the calls after it wait
behind it (none overtakes it), so a big call waits only until the running calls end and
is never starved by a stream of small ones. A call asking for more than the whole
capacity could never start: it fails at once instead.
"""

from __future__ import annotations

import math
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Share = tuple[float, float]  # (cores, GiB of memory)
DEFAULT_SHARE: Share = (1, 0)
_SLACK = 1e-9  # memory in GiB is a float: sums of fractions need not come back exactly


class CapacityError(Exception):
    """A call asks for more cores or memory than its executor has, or for a share that
    is not a number."""


def machine_cores() -> int:
    """The CPUs this process may run on (a container's or a cgroup's affinity mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def machine_memory() -> float:
    """The machine's physical memory in GiB (unbounded where it cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (AttributeError, ValueError, OSError):
        return math.inf


@dataclass(frozen=True)
class Limit:
    """One dimension of a capacity: how much there is and where that number came from
    (said in the error of a call that asks for more)."""

    amount: float
    source: str


class Capacity(Generic[Item]):
    """What a local executor can run at once. ``admit`` takes a share for an item (a
    call, or a body taking back its share after an ``await``) or queues the item;
    ``release`` gives a share back and returns the queued items that start now."""

    def __init__(self, cores: Limit, memory: Limit) -> None:
        self.cores, self.memory = cores, memory
        self._free_cores, self._free_memory = cores.amount, memory.amount
        self._waiting: deque[tuple[Share, Item]] = deque()
        self._lock = threading.Lock()

    def share(self, options: dict[str, Any], task_name: str, executor: str) -> Share:
        """The share a call's options ask for; a CapacityError when it is not a number
        or exceeds the capacity."""
        vcpus, memory = options.get("vcpus"), options.get("memory")
        if vcpus is None and memory is None:
            return DEFAULT_SHARE
        share = (_amount(vcpus, 1, "vcpus", task_name), _amount(memory, 0, "memory", task_name))
        for asked, limit, option, key in ((share[0], self.cores, "vcpus", "cores"),
                                          (share[1], self.memory, "memory", "memory")):
            if asked > limit.amount + _SLACK:
                unit = " GiB" if key == "memory" else ""
                raise CapacityError(
                    f"task {task_name} asks for {option}={_show(asked)}{unit}, more than "
                    f"executor {executor!r} has ({key} = {_show(limit.amount)}{unit}, "
                    f"{limit.source}), so it "
                    f"could never start: lower its {option} option, or raise {key} in "
                    f"[executors.{executor}]" + (" or bridge run --cores" if key == "cores"
                                                  else ""))
        return share

    def admit(self, share: Share, item: Item) -> bool:
        """True when ``share`` is taken now; else ``item`` waits its turn."""
        with self._lock:
            if self._waiting or not self._fits(share):
                self._waiting.append((share, item))
                return False
            self._take(share)
            return True

    def release(self, share: Share) -> list[tuple[Share, Item]]:
        """Give ``share`` back; the waiting items that fit now, in order, have theirs
        taken and are returned with it."""
        with self._lock:
            self._free_cores += share[0]
            self._free_memory += share[1]
            started = []
            while self._waiting and self._fits(self._waiting[0][0]):
                admitted = self._waiting.popleft()
                self._take(admitted[0])
                started.append(admitted)
            return started

    def withdraw(self, which: Callable[[Item], bool] = lambda item: True) -> list[Item]:
        """The waiting items ``which`` picks, no longer waiting."""
        with self._lock:
            items = [item for _, item in self._waiting if which(item)]
            self._waiting = deque(waiting for waiting in self._waiting
                                  if not which(waiting[1]))
            return items

    def _fits(self, share: Share) -> bool:
        return (share[0] <= self._free_cores + _SLACK
                and share[1] <= self._free_memory + _SLACK)

    def _take(self, share: Share) -> None:
        self._free_cores -= share[0]
        self._free_memory -= share[1]


def _show(amount: float) -> str:
    return str(int(amount)) if amount == int(amount) else f"{amount:.1f}"


def as_number(value: Any) -> float:
    """``value`` as a float; NaN (which compares false to any bound) when it is not one."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _amount(value: Any, default: float, option: str, task_name: str) -> float:
    if value is None:
        return default
    amount = as_number(value)
    if not amount >= 0:  # NaN too
        raise CapacityError(f"task {task_name}: {option}={value!r} is not a number of "
                            f"{'GiB' if option == 'memory' else 'cores'} (give one, 0 or more)")
    return amount
