"""Running one task body: the same code in a thread, a process, a container or a Batch job."""

from __future__ import annotations

import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any

from bridge.native.expression import (
    start_body_tracking,
    stop_body_tracking,
    unreturned_calls,
)


class UnreturnedExpressionWarning(UserWarning):
    """A task body built a task call and did not return it, so it never runs."""


@dataclass
class Outcome:
    """What a body produced: a value (maybe a lazy expression) or an error. ``retried``
    counts the retries the executor already made itself (they count against the call's
    ``retries=``, so the execution does not repeat them)."""

    job_id: str
    ok: bool
    value: Any = None
    error: BaseException | None = None
    traceback: str = ""
    unreturned: list[str] = field(default_factory=list)
    retried: int = 0


def run_body(job_id: str, func: Any, args: tuple, kwargs: dict) -> Outcome:
    start_body_tracking()
    try:
        value = func(*args, **kwargs)
    except BaseException as error:  # reported to the scheduler, which decides
        stop_body_tracking()
        return Outcome(job_id, False, error=error, traceback=traceback.format_exc())
    created = stop_body_tracking()
    unreturned = [repr(call) for call in unreturned_calls(created, value)] if created else []
    return Outcome(job_id, True, value=value, unreturned=unreturned)


def warn_unreturned(task_name: str, unreturned: list[str]) -> None:
    shown = ", ".join(unreturned[:5]) + (" ..." if len(unreturned) > 5 else "")
    warnings.warn(
        f"task {task_name} built {len(unreturned)} task call(s) it did not return, so they "
        f"will not run: {shown}. Return them (or pass them to what you return).",
        UnreturnedExpressionWarning,
        stacklevel=2,
    )
