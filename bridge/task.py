"""Tasks, under the names redun users import from ``redun.task``."""

from typing import Any

from bridge.native.partial import PartialTask
from bridge.native.task import (
    CacheCheckValid,
    CacheScope,
    Task,
    TaskError,
    TaskRegistry,
    get_current_namespace,
    namespace,
    registry,
    task,
)


class SchedulerTaskUnsupported(TaskError):
    """bridge has no scheduler tasks (functions of the scheduler and its promises)."""


def scheduler_task(*_: Any, **__: Any) -> Any:
    """redun's low-level tasks that drive the scheduler's promises have no bridge
    counterpart: this names what to write instead."""
    raise SchedulerTaskUnsupported(
        "bridge has no @scheduler_task: write the control flow with cond, seq, catch "
        "(bridge and bridge.functools), or as a task that returns an expression"
    )


def get_task_registry() -> TaskRegistry:
    """Every task defined in this process, by full name (``.get(name)``, iteration)."""
    return registry


__all__ = [
    "CacheCheckValid", "CacheScope", "PartialTask", "SchedulerTaskUnsupported", "Task",
    "TaskError", "TaskRegistry", "get_current_namespace", "get_task_registry", "namespace",
    "scheduler_task", "task",
]
