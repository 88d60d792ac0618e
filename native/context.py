"""Context: configuration values a workflow reads without passing them down as arguments.

An execution starts with a context (``[context]`` in bridge.ini, ``Scheduler.run(...,
context=)``, ``bridge run --context``); ``task.update_context(...)`` changes it for one call
and everything beneath it. ``get_context("a.b", default)``, used as a parameter's default,
gives the value seen by the call: it becomes an ordinary argument, so it is part of the
call's hash. Each value read is also noted in the subtree of every call above the reader
(``context:PATH=HASH`` beside the task hashes), so a cached parent is replayed only while
the values read beneath it are unchanged.
"""

from __future__ import annotations

from typing import Any

from bridge.native.expression import SpecialForm

CONTEXT_READ_PREFIX = "context:"
_MISSING = object()
_MISSING_HASH = "missing"


def get_context(path: str, default: Any = None) -> SpecialForm:
    """The context value at a dotted ``path`` (``"db.host"``), else ``default``."""
    if not isinstance(path, str) or not path:
        raise TypeError(f"get_context: the path must be a dotted name, not {path!r}")
    return SpecialForm("context", (), {"path": path, "default": default})


def get_context_value(context: dict, path: str, default: Any) -> Any:
    """The value at a dotted ``path`` in a nested dict, else ``default``."""
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def merge_contexts(*contexts: dict) -> dict:
    """Later dicts win; nested dicts merge key by key."""
    merged: dict = {}
    for context in contexts:
        for key, value in context.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = merge_contexts(merged[key], value)
            else:
                merged[key] = value
    return merged


def is_context_read(form: Any) -> bool:
    return isinstance(form, SpecialForm) and form.kind == "context"


def read_context(context: dict, path: str, default: Any) -> tuple[Any, str]:
    """The value a call sees at ``path``, and the mark that notes the read."""
    value = get_context_value(context, path, _MISSING)
    return (default if value is _MISSING else value), _mark(path, value)


def _mark(path: str, value: Any) -> str:
    from bridge.native.hashing import hash_value

    value_hash = _MISSING_HASH if value is _MISSING else hash_value(value)
    return f"{CONTEXT_READ_PREFIX}{path}={value_hash}"


def marks_unchanged(marks: list[str], context: dict) -> bool:
    """Whether every context value read beneath a cached call is the same in ``context``."""
    for mark in marks:
        path = mark[len(CONTEXT_READ_PREFIX):].rpartition("=")[0]
        if _mark(path, get_context_value(context, path, _MISSING)) != mark:
            return False
    return True


def overridden(mark: str, override: dict) -> bool:
    """Whether ``override`` (a call's ``update_context``) decides the value a mark read:
    such a read does not depend on the context the call itself is made in."""
    path = mark[len(CONTEXT_READ_PREFIX):].rpartition("=")[0]
    node: Any = override
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
        if not isinstance(node, dict):
            return True
    return False  # a dict merged into the outer one: it still depends on the outer
