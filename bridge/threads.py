"""``fork_thread`` and ``join_thread``, as redun's workflows write them (imported from
``bridge.scheduler``). A Thread is a record whose one field is the forked expression, so
bridge reduces it as part of the forking task's result, like any lazy field of a dataclass:
the work starts at the fork, beneath the forking task (as in redun, whose forked job is a
child of the forking one), and a thread never joined still runs. Unlike redun, the forking
task concludes when the forked work has finished.
"""

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
