"""Walking the values inside a value: lists, tuples, dicts, sets, dataclasses and
pydantic models, down to their leaves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from bridge.native.expression import record_fields, with_fields

_SEQUENCES = (list, tuple, set, frozenset)


def iter_nested(value: Any) -> Iterator[Any]:
    """Every leaf of ``value`` (a value that is not one of the containers above), and
    every dataclass or model on the way (it may be a custom Value itself)."""
    cls = type(value)
    if cls is dict:
        for item in value.values():
            yield from iter_nested(item)
        return
    if cls in _SEQUENCES or isinstance(value, tuple):
        for item in value:
            yield from iter_nested(item)
        return
    fields = record_fields(value)
    yield value
    if fields is None:
        return
    for item in fields.values():
        yield from iter_nested(item)


def map_nested(func: Callable[[Any], Any], value: Any) -> Any:
    """``value`` with each leaf replaced by ``func(leaf)``; containers are rebuilt only
    where a leaf changed."""
    cls = type(value)
    if cls is dict:
        items = {key: map_nested(func, item) for key, item in value.items()}
        changed = any(items[key] is not item for key, item in value.items())
        return items if changed else value
    if cls in _SEQUENCES or isinstance(value, tuple):
        items = [map_nested(func, item) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return cls(items) if cls in _SEQUENCES else cls(*items)  # namedtuples: fields
    fields = record_fields(value)
    if fields is None:
        return func(value)
    mapped = {name: map_nested(func, item) for name, item in fields.items()}
    changed = {name: item for name, item in mapped.items() if item is not fields[name]}
    return with_fields(value, changed) if changed else value
