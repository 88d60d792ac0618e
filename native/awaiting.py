"""``await task_call(...)`` inside an ``async def`` task body.

The body runs on an executor thread; the execution's loop owns every job. An awaited
expression is sent to the loop (on the outcomes queue, as executors report) with a future;
the loop reduces it under the awaiting job, so the calls it makes are that job's children
(recorded, cached and counted in its subtree like returned ones), and the body's thread
waits for the value. Bodies in other processes (``mode = processes``, containers, Batch)
cannot reach the loop: awaiting there is an error that says so.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

_body = threading.local()
# job id -> the queue of the execution running it, for jobs of async tasks in this process
_loops: dict[str, queue.SimpleQueue] = {}


class AwaitRequest:
    """An expression a running body awaits; the loop resolves ``future`` with its value.
    (A plain class: every run loads this module, and a dataclass costs it to define.)"""

    __slots__ = ("expression", "future", "job_id")

    def __init__(self, job_id: str, expression: Any) -> None:
        self.job_id = job_id
        self.expression = expression
        self.future: Future = Future()


def allow_awaits(job_id: str, outcomes: queue.SimpleQueue) -> None:
    _loops[job_id] = outcomes


def end_awaits(job_id: str) -> None:
    _loops.pop(job_id, None)


def set_current_body(job_id: str | None) -> None:
    _body.job_id = job_id


def set_share_hooks(give_back: Callable[[], None], take_again: Callable[[], None]) -> None:
    """How the calling thread's executor lends out the share of cores and memory its
    running body holds while the body awaits: the calls it waits for may need that very
    share (with one core, they could never start otherwise)."""
    _body.share_hooks = (give_back, take_again)


def evaluate_awaited(expression: Any) -> Any:
    """The value of ``expression``, evaluated by the loop of the body awaiting it."""
    job_id = getattr(_body, "job_id", None)
    outcomes = _loops.get(job_id) if job_id is not None else None
    if outcomes is None:
        raise TypeError(
            f"{expression!r} is lazy and can be awaited only in an async task's body running "
            "in the scheduler's process (a thread executor): return it instead, and the "
            "scheduler evaluates it"
        )
    request = AwaitRequest(job_id, expression)
    hooks = getattr(_body, "share_hooks", None)
    if hooks is not None:
        hooks[0]()
    outcomes.put(request)
    try:
        return request.future.result()
    finally:
        if hooks is not None:
            hooks[1]()
