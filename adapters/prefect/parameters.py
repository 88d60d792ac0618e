"""A bridge task's parameters as a Prefect flow's: the same names, defaults and types, so
Prefect's UI shows a form for them; Files and Dirs travel as their paths, as on
``bridge run``'s command line, and become Files again before the call is built
(``bridge.native.plain_values``)."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from bridge.native.plain_values import PATH_TYPES, plain_value, task_hints
from bridge.native.task import Task


def flow_signature(task: Task) -> inspect.Signature:
    """The task's signature with File/Dir types spelled as paths (``str``) and types
    Prefect cannot describe left out (the value is then taken as given)."""
    hints = task_hints(task)
    parameters = []
    for param in task.signature.parameters.values():
        hint = hints.get(param.name, inspect.Parameter.empty)
        annotation = _as_path_type(hint) if _mentions_path(hint) else hint
        if annotation is not inspect.Parameter.empty and not _describable(annotation):
            annotation = inspect.Parameter.empty
        default = param.default
        if isinstance(default, PATH_TYPES):
            default = default.path
        parameters.append(param.replace(annotation=annotation, default=default))
    return inspect.Signature(parameters)


def flow_parameters(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments as ``bridge run`` parses them -> flow parameters (Files as paths)."""
    return {name: plain_value(value) for name, value in kwargs.items()}


def _mentions_path(hint: Any) -> bool:
    if isinstance(hint, type) and issubclass(hint, PATH_TYPES):
        return True
    return any(_mentions_path(arg) for arg in typing.get_args(hint))


def _as_path_type(hint: Any) -> Any:
    if isinstance(hint, type) and issubclass(hint, PATH_TYPES):
        return str
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if not args:
        return hint
    converted = tuple(_as_path_type(arg) for arg in args)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[converted]  # noqa: UP007 (built from a tuple)
    return origin[converted] if len(converted) > 1 else origin[converted[0]]


def _describable(annotation: Any) -> bool:
    """Whether pydantic (which Prefect uses for the parameter form) knows the type."""
    import pydantic

    try:
        pydantic.TypeAdapter(annotation).json_schema()
    except Exception:
        return False
    return True
