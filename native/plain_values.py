"""Task arguments as plain (JSON) values and back: how orchestrators carry them (Prefect's
parameter form, Airflow's DAG params), as `bridge run`'s command line does. A File or
Dir is its path, an enum its value; the task's type hints turn them back."""

from __future__ import annotations

import enum
import types
import typing
from typing import Any

from bridge.native.file import Dir, File
from bridge.native.task import Task

PATH_TYPES = (File, Dir)


def task_hints(task: Task) -> dict[str, Any]:
    """The task's type hints; none when an annotation does not resolve."""
    try:
        return typing.get_type_hints(task.func)
    except Exception:
        return {}


def plain_value(value: Any) -> Any:
    """``value`` as JSON data; raises TypeError when it has no such form."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, PATH_TYPES):
        return value.path
    if isinstance(value, enum.Enum):
        return plain_value(value.value)
    if isinstance(value, list | tuple | set | frozenset):
        return [plain_value(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: plain_value(item) for key, item in value.items()}
    raise TypeError(f"a {type(value).__name__} has no plain (JSON) form")


def arguments_from_plain(task: Task, params: dict[str, Any]) -> dict[str, Any]:
    """Plain values by parameter name -> the task's arguments (paths back into Files and
    Dirs, values into enums), as the task's type hints say."""
    hints = task_hints(task)
    return {name: from_plain(value, hints.get(name)) for name, value in params.items()}


def from_plain(value: Any, hint: Any) -> Any:
    if value is None or hint is None:
        return value
    if isinstance(hint, type):
        if issubclass(hint, PATH_TYPES):
            return hint(value) if isinstance(value, str) else value
        if issubclass(hint, enum.Enum) and not isinstance(value, hint):
            return hint(value)
        return value
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        path_type = next((arg for arg in args
                          if isinstance(arg, type) and issubclass(arg, PATH_TYPES)), None)
        if path_type is not None and isinstance(value, str):
            return path_type(value)
        return from_plain(value, args[0]) if len(args) == 1 else value
    if isinstance(value, list | tuple) and args:
        return type(value)(from_plain(item, args[0]) for item in value)
    return value
