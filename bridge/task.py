"""Tasks, under the names redun users import from ``redun.task``."""

from bridge.native.partial import PartialTask
from bridge.native.task import (
    Task,
    TaskError,
    TaskRegistry,
    get_current_namespace,
    namespace,
    registry,
    task,
)


def get_task_registry() -> TaskRegistry:
    """Every task defined in this process, by full name (``.get(name)``, iteration)."""
    return registry


__all__ = [
    "PartialTask", "Task", "TaskError", "TaskRegistry", "get_current_namespace",
    "get_task_registry", "namespace", "task",
]
