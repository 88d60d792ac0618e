"""Command-line arguments for a task, parsed from its signature's type hints."""

from __future__ import annotations

import enum
import inspect
import json
import types
import typing
from typing import Any

from bridge.native.file import Dir, File
from bridge.native.task import Task


class ArgumentError(Exception):
    """A task argument on the command line is missing, unknown or of the wrong type."""


def parse_task_arguments(task: Task, argv: list[str]) -> dict[str, Any]:
    """``["--out", "x", "--n", "3", "--flag"]`` -> keyword arguments for ``task``."""
    hints = typing.get_type_hints(task.func)
    params = {name.replace("_", "-"): p for name, p in task.signature.parameters.items()}
    values: dict[str, Any] = {}
    index = 0
    while index < len(argv):
        token = argv[index]
        if not token.startswith("--"):
            raise ArgumentError(f"task {task.fullname}: unexpected argument {token!r}")
        key, sep, inline = token[2:].partition("=")
        key = key.replace("_", "-")
        negated = key.startswith("no-") and key[3:] in params and key not in params
        param = params.get(key[3:] if negated else key)
        if param is None:
            raise ArgumentError(
                f"task {task.fullname} has no argument --{key}; its arguments: "
                + ", ".join(f"--{name}" for name in params)
            )
        hint = hints.get(param.name, str if param.annotation is inspect.Parameter.empty else Any)
        if _is_bool(hint) and not sep:
            values[param.name] = not negated
            index += 1
            continue
        if sep:
            text = inline
        elif index + 1 < len(argv):
            text = argv[index + 1]
            index += 1
        else:
            raise ArgumentError(f"task {task.fullname}: --{key} needs a value")
        value = convert(text, hint, f"--{key}", task)
        if param.name in values and isinstance(value, list) and _is_list(hint):
            value = values[param.name] + value  # --item a --item b
        values[param.name] = value
        index += 1
    missing = [
        f"--{p.name.replace('_', '-')}" for p in task.signature.parameters.values()
        if p.default is inspect.Parameter.empty and p.name not in values
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if missing:
        raise ArgumentError(f"task {task.fullname} needs {', '.join(missing)}")
    return values


def _is_list(hint: Any) -> bool:
    hint = _optional_inner(hint) or hint
    return hint is list or typing.get_origin(hint) is list


def describe_parameters(task: Task) -> list[tuple[str, str, str]]:
    """(flag, type, default) per parameter, for ``bridge run FILE TASK --help``."""
    hints = typing.get_type_hints(task.func)
    described = []
    for param in task.signature.parameters.values():
        hint = hints.get(param.name, param.annotation)
        kind = "" if hint is inspect.Parameter.empty else _type_name(hint)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            kind += " (" + "|".join(member.name for member in hint) + ")"
        default = " (required)" if param.default is param.empty else \
            f" (default {param.default!r})"
        flag = f"--{param.name.replace('_', '-')}"
        if _is_bool(hint):
            flag += f" / --no-{param.name.replace('_', '-')}"
        described.append((flag, kind, default))
    return described


def _type_name(hint: Any) -> str:
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return str(hint).replace("typing.", "")


def _is_bool(hint: Any) -> bool:
    return hint is bool or _optional_inner(hint) is bool


def _optional_inner(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(inner) == 1:
            return inner[0]
    return None


def convert(text: str, hint: Any, flag: str, task: Task) -> Any:
    """Turn one command-line string into the type the task declares."""
    inner = _optional_inner(hint)
    if inner is not None:
        return None if text in ("", "none", "None") else convert(text, inner, flag, task)
    origin = typing.get_origin(hint)
    try:
        if hint in (str, Any, inspect.Parameter.empty):
            return text
        if hint is bool:
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(f"{text!r} is not true or false")
            return lowered in ("true", "1", "yes")
        if hint in (int, float):
            return hint(text)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            try:
                return hint[text]
            except KeyError:
                pass
            try:
                return hint(text)
            except ValueError:
                raise ValueError("choose one of " + ", ".join(m.name for m in hint)) from None
        if isinstance(hint, type) and issubclass(hint, File | Dir):
            return hint(text)
        if origin in (list, tuple, set) or hint in (list, tuple, set, dict) or origin is dict:
            parsed = json.loads(text) if text.lstrip().startswith(("[", "{")) else text.split(",")
            args = typing.get_args(hint)
            if origin in (list, set) and args and isinstance(parsed, list):
                parsed = [
                    convert(item, args[0], flag, task) if isinstance(item, str) else item
                    for item in parsed
                ]
            container = origin or hint
            return container(parsed) if container is not dict else parsed
        if callable(hint):
            return hint(text)
    except (ValueError, TypeError, json.JSONDecodeError) as error:
        name = getattr(hint, "__name__", str(hint))
        raise ArgumentError(
            f"task {task.fullname}: {flag} expects {name}, got {text!r} ({error})"
        ) from None
    return text
