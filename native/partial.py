"""Partial application of tasks: ``add.partial(1)`` is a task-like value that, called
with the rest of the arguments, builds the full call.

A partial's arguments are kept as given, unevaluated (a partial holding ``task1()`` is a
closure over that call, which runs only if the partial is called and its call evaluated).
A partial is a plain value: it can be passed to and returned from tasks, is hashed from
its task's hash and its arguments (lazy ones by their structure), and pickles by its task's
name, so calls that take it are cached like any other.
"""

from __future__ import annotations

from typing import Any

from bridge.native.expression import TaskCall
from bridge.native.hashing import hash_parts, hash_value
from bridge.native.task import Task, with_overrides


class PartialTask(Task):
    """``task.partial(*args, **kwargs)``: ``partial(*more, **more_kwargs)`` calls the task
    with ``args + more`` and ``kwargs`` updated by ``more_kwargs``."""

    def __init__(self, task: Task, args: tuple = (), kwargs: dict | None = None,
                 options: dict | None = None) -> None:
        if isinstance(task, PartialTask):
            args = (*task.args, *args)
            kwargs = {**task.kwargs, **(kwargs or {})}
            options = {**task.call_options, **(options or {})}
            task = task.task
        if not isinstance(task, Task):
            raise TypeError(f"PartialTask needs a task, not {type(task).__name__}: {task!r}")
        self.task = task
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.call_options = dict(options or {})

    def __getattr__(self, name: str) -> Any:
        # name, namespace, fullname, func, signature, version, ...: the task's own
        if name == "task":
            raise AttributeError(name)
        return getattr(self.task, name)

    def __call__(self, *args: Any, **kwargs: Any) -> TaskCall:
        return TaskCall(self.task, (*self.args, *args), {**self.kwargs, **kwargs},
                        self.call_options or None)

    def partial(self, *args: Any, **kwargs: Any) -> PartialTask:
        return PartialTask(self, args, kwargs)

    def options(self, **options: Any) -> PartialTask:  # type: ignore[override]
        return PartialTask(self, (), {}, options)

    def export_options(self, **options: Any) -> PartialTask:  # type: ignore[override]
        exported = self.call_options.get("_export", frozenset()) | frozenset(options)
        return PartialTask(self, (), {}, {**options, "_export": exported})

    def get_task_options(self) -> dict[str, Any]:
        return with_overrides(self.task, self.call_options)

    @property
    def hash(self) -> str:  # type: ignore[override]
        parts = [self.task.hash, hash_value(self.args), hash_value(self.kwargs),
                 hash_value(self.call_options)]
        return hash_parts("partial-task", parts)

    def lazy_parts(self) -> tuple:
        """What the partial holds that may be lazy (see ``unreturned_calls``)."""
        return (*self.args, *self.kwargs.values())

    def __reduce__(self) -> tuple:
        return (PartialTask, (self.task, self.args, self.kwargs, self.call_options))

    def __repr__(self) -> str:
        shown = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"<PartialTask {self.task.fullname}({', '.join(shown)}, ...)>"
