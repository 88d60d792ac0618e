"""A bridge task's parameters as a Prefect flow's: the same names, defaults and types, so
Prefect's UI shows a form for them; Files and Dirs travel as their paths, as on
``bridge run``'s command line, and become Files again before the call is built."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from bridge.native.file import Dir, File
from bridge.native.task import Task

_PATH_TYPES = (File, Dir)


def flow_signature(task: Task) -> inspect.Signature:
    """The task's signature with File/Dir types spelled as paths (``str``) and types
    Prefect cannot describe left out (the value is then taken as given)."""
    hints = _hints(task)
    parameters = []
    for param in task.signature.parameters.values():
        hint = hints.get(param.name, inspect.Parameter.empty)
        annotation = _as_path_type(hint) if _mentions_path(hint) else hint
        if annotation is not inspect.Parameter.empty and not _describable(annotation):
            annotation = inspect.Parameter.empty
        default = param.default
        if isinstance(default, _PATH_TYPES):
            default = default.path
        parameters.append(param.replace(annotation=annotation, default=default))
    return inspect.Signature(parameters)


def bridge_arguments(task: Task, params: dict[str, Any]) -> dict[str, Any]:
    """Flow parameters -> the task's keyword arguments (paths back into Files/Dirs)."""
    hints = _hints(task)
    return {name: _from_path(value, hints.get(name)) for name, value in params.items()}


def flow_parameters(task: Task, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments as ``bridge run`` parses them -> flow parameters (Files as paths)."""
    return {name: _to_path(value) for name, value in kwargs.items()}


def _hints(task: Task) -> dict[str, Any]:
    try:
        return typing.get_type_hints(task.func)
    except Exception:  # an annotation that does not resolve: take values as given
        return {}


def _mentions_path(hint: Any) -> bool:
    if isinstance(hint, type) and issubclass(hint, _PATH_TYPES):
        return True
    return any(_mentions_path(arg) for arg in typing.get_args(hint))


def _as_path_type(hint: Any) -> Any:
    if isinstance(hint, type) and issubclass(hint, _PATH_TYPES):
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


def _from_path(value: Any, hint: Any) -> Any:
    if value is None or hint is None:
        return value
    if isinstance(hint, type) and issubclass(hint, _PATH_TYPES):
        return hint(value) if isinstance(value, str) else value
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return _from_path(value, args[0])
    if isinstance(value, list | tuple) and args and _mentions_path(args[0]):
        return type(value)(_from_path(item, args[0]) for item in value)
    return value


def _to_path(value: Any) -> Any:
    if isinstance(value, _PATH_TYPES):
        return value.path
    if isinstance(value, list | tuple):
        return type(value)(_to_path(item) for item in value)
    return value
