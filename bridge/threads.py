"""``fork_thread`` and ``join_thread``, as redun's workflows write them (imported from
``bridge.scheduler``). A Thread carries the forked expression to whoever joins it; bridge
evaluates the expression where it is joined (or earlier, where the engine reduces a
value's expressions), so the result and its caching are redun's, while the work does not
start at the fork, and a thread never joined may never run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Thread:
    """A forked computation: pass it on, and ``join_thread`` it where its result is
    needed."""

    expr: Any


def fork_thread(expr: Any) -> Thread:
    """Fork ``expr`` (a task call, or any lazy expression) as a Thread."""
    return Thread(expr)


def join_thread(thread: Thread) -> Any:
    """The forked expression, for a task to return (or pass on): bridge evaluates it."""
    if not isinstance(thread, Thread):
        raise TypeError(f"join_thread takes what fork_thread returned, not "
                        f"{type(thread).__name__}")
    return thread.expr
