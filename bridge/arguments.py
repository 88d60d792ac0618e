"""Command-line arguments for a task, parsed from its signature's type hints."""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Iterator
from typing import Any, NamedTuple

from bridge.native.custom_values import get_type_registry, parse_plain
from bridge.native.file import Dir, File
from bridge.native.job_info import caller_parameters
from bridge.native.secrets import REDACTED, secret_parameters
from bridge.native.task import Task


class ArgumentError(Exception):
    """A task argument on the command line is missing, unknown or of the wrong type."""


class UnknownArgumentError(ArgumentError):
    """A token the task has no argument for; ``token`` is that token."""

    def __init__(self, message: str, token: str) -> None:
        super().__init__(message)
        self.token = token


class _Given(NamedTuple):
    """One ``--name [value]`` on the command line (a NamedTuple: a tenth of a frozen
    dataclass's cost to define, which every `bridge run` pays)."""

    param: inspect.Parameter
    flag: str
    text: str | None  # None: a bool flag given bare (``--verbose``, ``--no-verbose``)
    negated: bool
    value_at: int  # the index of the token holding the value: the flag's own or the next
    inline: bool  # ``--name=value``


# How a bool is written on the command line.
_TRUE_WORDS = frozenset({"true", "1", "yes"})
_BOOL_WORDS = _TRUE_WORDS | {"false", "0", "no"}
# What may follow a bool flag as its value (no task argument is positional, so nothing
# else could be meant): ``--verbose false``, ``--flag none`` for an Optional[bool].
_FLAG_WORDS = _BOOL_WORDS | {"none"}


def _scan(task: Task, argv: list[str], hints: dict[str, Any]) -> Iterator[_Given]:
    params = {name.replace("_", "-"): p for name, p in caller_parameters(task).items()}
    index = 0
    while index < len(argv):
        token = argv[index]
        if not token.startswith("--"):
            raise UnknownArgumentError(
                f"task {task.fullname}: unexpected argument {token!r}", token)
        key, sep, inline = token[2:].partition("=")
        key = key.replace("_", "-")
        negated = key.startswith("no-") and key[3:] in params and key not in params
        param = params.get(key[3:] if negated else key)
        if param is None:
            raise UnknownArgumentError(
                f"task {task.fullname} has no argument --{key}; its arguments: "
                + ", ".join(f"--{name}" for name in params), token)
        if _is_bool(_hint(param, hints)) and not sep:
            following = argv[index + 1] if index + 1 < len(argv) else ""
            if not negated and following.lower() in _FLAG_WORDS:  # --verbose false
                index += 1
                yield _Given(param, f"--{key}", following, False, index, False)
            else:
                yield _Given(param, f"--{key}", None, negated, index, False)
        elif sep:
            yield _Given(param, f"--{key}", inline, negated, index, True)
        elif index + 1 < len(argv):
            index += 1
            yield _Given(param, f"--{key}", argv[index], negated, index, False)
        else:
            raise ArgumentError(f"task {task.fullname}: --{key} needs a value")
        index += 1
        if _is_list(_hint(param, hints)):
            # space-separated items (``--numbers 1 2 3``) run to the next ``--name``
            while index < len(argv) and not argv[index].startswith("--"):
                yield _Given(param, f"--{key}", argv[index], False, index, False)
                index += 1


def _hint(param: inspect.Parameter, hints: dict[str, Any]) -> Any:
    return hints.get(param.name, str if param.annotation is inspect.Parameter.empty else Any)


def parse_task_arguments(task: Task, argv: list[str]) -> dict[str, Any]:
    """``["--out", "x", "--n", "3", "--flag"]`` -> keyword arguments for ``task``."""
    hints = typing.get_type_hints(task.func)
    values: dict[str, Any] = {}
    for given in _scan(task, argv, hints):
        name, hint = given.param.name, _hint(given.param, hints)
        if given.text is None:
            values[name] = not given.negated
            continue
        value = convert(given.text, hint, given.flag, f"task {task.fullname}")
        if name in values and isinstance(value, list) and _is_list(hint):
            value = values[name] + value  # --item a --item b
        values[name] = value
    missing = [
        f"--{p.name.replace('_', '-')}" for p in task.signature.parameters.values()
        if p.default is inspect.Parameter.empty and p.name not in values
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if missing:
        raise ArgumentError(f"task {task.fullname} needs {', '.join(missing)}")
    return values


def redact_arguments(task: Task, argv: list[str]) -> list[str]:
    """``argv`` with the values of the task's secret arguments replaced by ``***`` (see
    native/secrets.py), for what bridge records and shows of the command line."""
    secret = secret_parameters(task)
    redacted = list(argv)
    for given in _scan(task, argv, typing.get_type_hints(task.func)):
        if given.text is None or given.param.name not in secret:
            continue
        flag = redacted[given.value_at].partition("=")[0]
        redacted[given.value_at] = f"{flag}={REDACTED}" if given.inline else REDACTED
    return redacted


def _is_list(hint: Any) -> bool:
    hint = _optional_inner(hint) or hint
    return hint is list or typing.get_origin(hint) is list


def describe_parameters(task: Task) -> list[tuple[str, str, str]]:
    """(flag, type, default) per parameter, for ``bridge run FILE TASK --help``."""
    hints = typing.get_type_hints(task.func)
    described = []
    for param in caller_parameters(task).values():
        hint = hints.get(param.name, param.annotation)
        kind = "" if hint is inspect.Parameter.empty else _type_name(hint)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            kind += " (" + "|".join(member.name for member in hint) + ")"
        default = " (required)" if param.default is param.empty else \
            f" (default {_default_text(param.default)})"
        if param.name in secret_parameters(task):
            default += " (secret: recorded as ***)"
        flag = f"--{param.name.replace('_', '-')}"
        if _is_bool(hint):
            flag += f" / --no-{param.name.replace('_', '-')}"
        described.append((flag, kind, default))
    return described


def _default_text(default: Any) -> str:
    """A default as it is typed on the command line: an enum member by its name."""
    return default.name if isinstance(default, enum.Enum) else repr(default)


def _type_name(hint: Any) -> str:
    """A hint as help shows it: ``Optional[File]``, not with each type's module path."""
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return _MODULE_PATH.sub("", str(hint))


_MODULE_PATH = re.compile(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])")


def _is_bool(hint: Any) -> bool:
    return hint is bool or _optional_inner(hint) is bool


def _optional_inner(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(inner) == 1:
            return inner[0]
    return None


def convert(text: str, hint: Any, flag: str, owner: str) -> Any:
    """Turn one command-line string into the type ``hint`` declares; an error names
    ``owner`` (``task NAME``) and ``flag``."""
    inner = _optional_inner(hint)
    if inner is not None:
        return None if text in ("", "none", "None") else convert(text, inner, flag, owner)
    origin = typing.get_origin(hint)
    try:
        if hint in (str, Any, inspect.Parameter.empty):
            return text
        if hint is bool:
            lowered = text.lower()
            if lowered not in _BOOL_WORDS:
                raise ValueError(f"{text!r} is not true or false")
            return lowered in _TRUE_WORDS
        if hint in (int, float):
            return hint(text)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return _enum_member(hint, text)
        if isinstance(hint, type) and issubclass(hint, File | Dir):
            return hint(text)
        if origin in (list, tuple, set) or hint in (list, tuple, set, dict) or origin is dict:
            parsed = json.loads(text) if text.lstrip().startswith(("[", "{")) else text.split(",")
            args = typing.get_args(hint)
            if origin in (list, set) and args and isinstance(parsed, list):
                parsed = [
                    convert(item, args[0], flag, owner) if isinstance(item, str) else item
                    for item in parsed
                ]
            container = origin or hint
            return container(parsed) if container is not dict else parsed
        custom = get_type_registry().get_type(hint) if isinstance(hint, type) else None
        if custom is not None:  # a Value class, or a ProxyValue for this type
            try:
                return custom.parse_arg(hint, text)
            except Exception as error:  # the user's parser: keep its message, on one line
                raise ValueError(" ".join(str(error).split())) from None
        if callable(hint):
            return parse_plain(hint, text)
    except (ValueError, TypeError, json.JSONDecodeError) as error:
        name = getattr(hint, "__name__", str(hint))
        raise ArgumentError(f"{owner}: {flag} expects {name}, got {text!r} ({error})") from None
    return text


def _enum_member(enum_type: type[enum.Enum], text: str) -> enum.Enum:
    """A member by name (``red``, or ``Color.red`` as redun writes it) or by value (its
    text, so ``--color 1`` finds ``red = 1``)."""
    prefix = enum_type.__name__ + "."
    name = text[len(prefix):] if text.startswith(prefix) else text
    if name in enum_type.__members__:
        return enum_type[name]
    for member in enum_type:
        if str(member.value) == text:
            return member
    names = ", ".join(member.name for member in enum_type)
    values = ", ".join(str(member.value) for member in enum_type)
    raise ValueError(f"choose one of {names} (or a value: {values})")
