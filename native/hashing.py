"""Deterministic sha256 hashing of values, tasks and calls.

Hashes must be equal across processes and machines, so nothing here depends on
``hash()``, ``id()`` or dict iteration order of unordered containers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from collections.abc import Callable, Iterable
from typing import Any

from bridge.native.custom_values import get_type_registry

_sha256 = hashlib.sha256


def hash_text(text: str) -> str:
    return _sha256(text.encode("utf-8")).hexdigest()


def hash_parts(tag: str, parts: Iterable[str]) -> str:
    """Hash a tag and a sequence of already-computed hashes."""
    return _sha256((tag + ":" + ",".join(parts)).encode("utf-8")).hexdigest()


def _hash_str(value: str) -> str:
    return _sha256(b"s:" + value.encode("utf-8", "surrogatepass")).hexdigest()


def _hash_scalar(value: Any) -> str:
    """``<type name>:<repr>`` (the tag of each type made once)."""
    return _sha256((_SCALAR_TAGS[type(value)] + repr(value)).encode()).hexdigest()


_SCALAR_TAGS = {cls: cls.__name__ + ":" for cls in (int, float, bool, complex, type(None))}


def _hash_bytes_value(value: bytes) -> str:
    return _sha256(b"y:" + bytes(value)).hexdigest()


def _hash_sequence(value: list | tuple) -> str:
    return hash_parts(type(value).__name__, [hash_value(item) for item in value])


def _hash_dict(value: dict) -> str:
    # Dicts that compare equal hash equal: entries are ordered by their key's hash.
    entries = sorted(hash_value(k) + hash_value(v) for k, v in value.items())
    return hash_parts("dict", entries)


def _hash_set(value: set | frozenset) -> str:
    return hash_parts("set", sorted(hash_value(item) for item in value))


_HASHERS: dict[type, Callable[[Any], str]] = {
    str: _hash_str,
    int: _hash_scalar,
    float: _hash_scalar,
    bool: _hash_scalar,
    complex: _hash_scalar,
    type(None): _hash_scalar,
    bytes: _hash_bytes_value,
    bytearray: _hash_bytes_value,
    list: _hash_sequence,
    tuple: _hash_sequence,
    dict: _hash_dict,
    set: _hash_set,
    frozenset: _hash_set,
}


def hash_value(value: Any) -> str:
    """Hash a value by its type: builtins and containers structurally, objects that
    define ``__bridge_hash__`` (File, Dir, custom Values, ...) by their own rule,
    instances of a type a ProxyValue stands for by that proxy, dataclasses and
    pydantic models by their fields, anything else by its pickle."""
    hasher = _HASHERS.get(type(value))
    if hasher is not None:
        return hasher(value)
    custom = getattr(type(value), "__bridge_hash__", None)
    if custom is not None:
        return custom(value)
    cls = type(value)
    registry = get_type_registry()
    if registry.proxies:  # a ProxyValue subclass says how this type hashes
        proxy = registry.get_type(cls)
        if proxy is not None:
            return proxy(value).__bridge_hash__()
    qualname = f"{cls.__module__}.{cls.__qualname__}"
    if dataclasses.is_dataclass(value):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return hash_parts("dataclass:" + qualname, [_hash_dict(fields)])
    if hasattr(cls, "model_dump") and hasattr(cls, "model_fields"):
        return hash_parts("pydantic:" + qualname, [_hash_dict(value.model_dump())])
    if isinstance(value, tuple):  # namedtuples and other tuple subclasses
        return hash_parts("tuple:" + qualname, [hash_value(item) for item in value])
    return hash_pickle(value)


def hash_pickle(value: Any) -> str:
    """The hash of a value's pickle (of ``value`` itself when it is bytes)."""
    data = value if type(value) is bytes else pickle.dumps(value, protocol=5)
    return _sha256(b"p:" + data).hexdigest()


def hash_call(task_hash: str, bound_arguments: Iterable[str]) -> str:
    """A call is its task's hash plus ``name=hash`` of each argument, bound to the task's
    signature (see :mod:`bridge.native.binding`). The tag changed with schema version 3,
    so that no entry recorded before (when a parent's files were checked less) can hit."""
    return hash_parts("bound-call:" + task_hash, bound_arguments)
