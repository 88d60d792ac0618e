"""Higher-order helpers over tasks (what ``bridge.functools`` offers besides the control
flow of :mod:`bridge.native.control`): composition, partial application of plain
functions, delayed evaluation, and list helpers. Each is a task or builds task calls, so
every step is cached like any call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from bridge.native.control import eval_, flatten, map_
from bridge.native.partial import PartialTask
from bridge.native.task import Task, namespace, task

T = TypeVar("T")

with namespace("bridge"):

    @task(version="1")
    def identity(x: T) -> T:
        """Its argument, unchanged."""
        return x

    @task(version="1")
    def compose_apply(tasks: Sequence[Task], *args: Any, **kwargs: Any) -> Any:
        """Call the last task with the arguments, then each earlier one on the result."""
        *outer, inner = tasks
        result = inner(*args, **kwargs)
        for a_task in reversed(outer):
            result = a_task(result)
        return result

    @task(version="1")
    def apply_func(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a plain (module-level) Python function on possibly lazy arguments:
        ``apply_func(len, a_list_task())``."""
        return func(*args, **kwargs)

    @task(version="1")
    def flat_map(a_task: Task, values: list) -> list:
        """``a_task`` on each value, the resulting lists concatenated."""
        return flatten(map_(a_task, values))

    @task(version="1")
    def zip_(*lists: list) -> list[tuple]:
        """``zip()`` of lazy lists, as a list of tuples."""
        return list(zip(*lists, strict=False))


def compose(*tasks: Task) -> PartialTask:
    """``compose(f, g)(x)`` is ``f(g(x))``."""
    if not tasks:
        raise TypeError("compose() needs at least one task")
    return compose_apply.partial(tasks)


def delay(x: T) -> PartialTask:
    """Keep ``x`` (an expression) from being evaluated until ``force()`` is called on
    the result: a task of no arguments returning ``x``."""
    return identity.partial(x)


def force(x: Any) -> Any:
    """Evaluate what ``delay()`` kept back."""
    return x()


def as_task(func: Callable[..., T]) -> PartialTask:
    """A plain (module-level) Python function as a task: ``as_task(max)(a, b)``."""
    return apply_func.partial(func)


def starmap(a_task: Task, kwargs: Any = ()) -> Any:
    """``a_task(**row)`` for each dict in ``kwargs`` (a list or a lazy list)."""
    return map_(eval_.partial("a_task(**x)", pos_args=["x"], a_task=a_task), kwargs)
