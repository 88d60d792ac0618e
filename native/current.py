"""The scheduler running an execution on this thread (redun's ``get_current_scheduler``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_local = threading.local()


class NoCurrentScheduler(RuntimeError):
    """No scheduler runs on this thread."""

    def __init__(self) -> None:
        super().__init__("no scheduler is running on this thread: call this from code that "
                         "scheduler.run(...) evaluates, or pass required=False")


def get_current_scheduler(required: bool = True) -> Any:
    """The scheduler whose ``run`` is evaluating on this thread (also set by
    ``set_current_scheduler``); ``None`` or ``NoCurrentScheduler`` when there is none."""
    scheduler = getattr(_local, "scheduler", None)
    if scheduler is None and required:
        raise NoCurrentScheduler()
    return scheduler


def set_current_scheduler(scheduler: Any) -> None:
    _local.scheduler = scheduler


@contextlib.contextmanager
def current_scheduler(scheduler: Any) -> Iterator[None]:
    previous = getattr(_local, "scheduler", None)
    _local.scheduler = scheduler
    try:
        yield
    finally:
        _local.scheduler = previous
