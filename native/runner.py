"""Running one task body: the same code in a thread, a process, a container or a Batch job."""

from __future__ import annotations

import inspect
import pickle
import traceback
import warnings
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from bridge.native.awaiting import set_current_body
from bridge.native.custom_values import InvalidValueError
from bridge.native.expression import (
    start_body_tracking,
    stop_body_tracking,
    unreturned_calls,
)


class RemoteError(Exception):
    """An error raised in another process (a worker process, a container, a Batch job)
    that could not travel back as itself: it reads ``<Type>: <message>`` of the original,
    and the original's traceback travels beside it as text (``Outcome.traceback``)."""


class UnstorableResultError(InvalidValueError, TypeError):
    """A task returned a value bridge cannot hash, serialise or send back (redun users
    catch it as ``bridge.value.InvalidValueError``)."""


class UnreturnedExpressionWarning(UserWarning):
    """A task body built a task call and did not return it, so it never runs."""


@dataclass(slots=True)
class Outcome:
    """What a body produced: a value (maybe a lazy expression) or an error. ``retried``
    counts the retries the executor already made itself (they count against the call's
    ``retries=``, so the execution does not repeat them). ``output`` is what a script()
    body printed (``{"stdout": tail, "stderr": tail}``), recorded with its job."""

    job_id: str
    ok: bool
    value: Any = None
    error: BaseException | None = None
    traceback: str = ""
    unreturned: list[str] | tuple[str, ...] = ()  # shared: 100,000 outcomes may queue at once
    retried: int = 0
    output: dict | None = None


_body_output: ContextVar[dict | None] = ContextVar("bridge_body_output", default=None)


def report_output(output: dict) -> None:
    """What the running body printed (a script's stdout and stderr tails): its Outcome
    carries it to the record."""
    _body_output.set(output)


def run_body(job_id: str, func: Any, args: tuple, kwargs: dict) -> Outcome:
    start_body_tracking()
    _body_output.set(None)
    try:
        value = func(*args, **kwargs)
        if inspect.iscoroutine(value):  # an async def task: its awaited result
            import asyncio  # here: only async bodies need it, 30 ms of every start-up

            set_current_body(job_id)
            try:
                value = asyncio.run(value)
            finally:
                set_current_body(None)
    except BaseException as error:  # reported to the scheduler, which decides
        stop_body_tracking()
        # the traceback from the body's own frame down (not this function's)
        frames = error.__traceback__.tb_next if error.__traceback__ else None
        trace = traceback.format_exception(type(error), error, frames)
        return Outcome(job_id, False, error=error, traceback="".join(trace),
                       output=_body_output.get())
    created = stop_body_tracking()
    unreturned = [repr(call) for call in unreturned_calls(created, value)] if created else ()
    return Outcome(job_id, True, value=value, unreturned=unreturned, output=_body_output.get())


def warn_unreturned(task: Any, unreturned: list[str]) -> None:
    """Warn at the task's own definition (its file and line), where the mistake is, not
    at the scheduler line that found it."""
    shown = ", ".join(unreturned[:5]) + (" ..." if len(unreturned) > 5 else "")
    code = inspect.unwrap(task.func).__code__
    warnings.warn_explicit(
        f"task {task.fullname} built {len(unreturned)} task call(s) it did not return, so "
        f"they will not run: {shown}. Return them (or pass them to what you return).",
        UnreturnedExpressionWarning, code.co_filename, code.co_firstlineno,
        module=task.func.__module__,
    )


def error_text(error: BaseException) -> str:
    """An error as the record and the terminal show it: ``Type: message`` (a RemoteError
    already reads so, with the original's type)."""
    return str(error) if isinstance(error, RemoteError) else f"{type(error).__name__}: {error}"


def _portable_error(error: BaseException) -> BaseException:
    """``error`` when it survives pickling both ways, else a RemoteError of its text."""
    try:
        pickle.loads(pickle.dumps(error, protocol=5))
    except Exception as failure:
        return RemoteError(f"{type(error).__name__}: {error} (the exception itself could not "
                           f"be sent back: {type(failure).__name__}: {failure})")
    return error


def dump_outcome(outcome: Outcome, task_name: str, where: str) -> bytes:
    """The outcome pickled to send it to the scheduler's process. An error that does not
    pickle travels as a RemoteError (type, message and traceback as text); a value that
    does not pickle becomes an error naming the task (``where`` it ran)."""
    error = _portable_error(outcome.error) if outcome.error is not None else None
    state = {"ok": outcome.ok, "value": outcome.value, "error": error,
             "traceback": outcome.traceback, "unreturned": outcome.unreturned,
             "output": outcome.output}
    try:
        return pickle.dumps(state, protocol=5)
    except Exception as failure:  # the value does not pickle
        state.update(ok=False, value=None, error=UnstorableResultError(
            f"task {task_name} returned {type(outcome.value).__name__}, which cannot be sent "
            f"back from {where} ({type(failure).__name__}: {failure}): a task's return value "
            "must pickle: return plain data, Files, or objects that pickle"))
        return pickle.dumps(state, protocol=5)


def load_outcome(data: bytes, job_id: str) -> Outcome:
    state = pickle.loads(data)
    return Outcome(job_id, state["ok"], value=state["value"], error=state["error"],
                   traceback=state["traceback"], unreturned=state["unreturned"],
                   output=state.get("output"))
