"""Custom value types, as redun users write them: a ``Value`` subclass decides how its
instances hash and whether a cached one is still valid; a ``ProxyValue`` subclass with
``type = SomeClass`` does the same for instances of a class the user cannot change, and
may parse that class from the command line.

Hashing goes through :func:`bridge.native.hashing.hash_value`, like every other value:
a Value's ``get_hash()`` (or its proxy's) is folded into a sha256 tagged with its type
name. A cached call whose result holds a value whose ``is_valid()`` is now false is not
replayed: it runs again, as for a File that changed.
"""

from __future__ import annotations

import datetime
import importlib
from collections.abc import Iterator
from typing import Any, ClassVar

from bridge.native.nested import iter_nested


class InvalidValueError(Exception):
    """A value cannot be used as a task's argument or result."""


def type_name_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


class TypeRegistry:
    """The Value classes defined so far, by type name, and the proxies of raw types."""

    def __init__(self) -> None:
        self.by_name: dict[str, type[Value]] = {}
        self.proxies: dict[type, type[ProxyValue]] = {}
        # True once a user defines a Value class: until then results are not walked.
        self.in_use = False

    def register(self, value_type: type[Value]) -> None:
        self.by_name[value_type.type_name or type_name_of(value_type)] = value_type
        raw = getattr(value_type, "type", None)
        if getattr(value_type, "proxy", False) and isinstance(raw, type):
            self.proxies[raw] = value_type  # type: ignore[assignment]
        if not value_type.__module__.startswith("bridge.native."):  # not a built-in base
            self.in_use = True

    def get_type(self, raw_type: type) -> type[Value] | None:
        """The Value class that governs instances of ``raw_type``, if any."""
        if isinstance(raw_type, type) and issubclass(raw_type, Value):
            return raw_type
        for base in getattr(raw_type, "__mro__", ()):
            proxy = self.proxies.get(base)
            if proxy is not None:
                return proxy
        return None

    def get_value(self, raw: Any) -> Value | None:
        """``raw`` as a Value: itself, its proxy, or None for plain data."""
        if isinstance(raw, Value):
            return raw
        if not self.proxies:
            return None
        proxy = self.get_type(type(raw))
        return proxy(raw) if proxy is not None else None

    def parse_type_name(self, type_name: str) -> type:
        """The class a type name stands for: a registered Value class, or a class
        importable as ``module.Name``."""
        found = self.by_name.get(type_name)
        if found is not None:
            return found
        module, _, name = type_name.rpartition(".")
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError, ValueError):
            raise TypeError(f"no type is known as {type_name!r}") from None

    def get_hash(self, raw: Any) -> str:
        from bridge.native.hashing import hash_value

        return hash_value(raw)

    def is_valid(self, raw: Any) -> bool:
        value = self.get_value(raw)
        return value is None or bool(value.is_valid())

    def is_valid_nested(self, raw: Any) -> bool:
        """False when any value inside ``raw`` (lists, dicts, dataclasses, ...) is not
        valid any more."""
        return all(self.is_valid(item) for item in iter_nested(raw))

    def parse_arg(self, raw_type: type, arg: str) -> Any:
        value_type = self.get_type(raw_type)
        if value_type is None:
            return parse_plain(raw_type, arg)
        return value_type.parse_arg(raw_type, arg)


# Types whose command-line text is ISO 8601: ``2022-07-01``, ``2022-07-01 10:05:33 +0400``.
ISO_TYPES = (datetime.datetime, datetime.date, datetime.time)


def parse_plain(raw_type: Any, arg: str) -> Any:
    """A command-line text as a type no Value class handles: dates and times from ISO
    8601, anything else by calling the type on the text."""
    if raw_type in ISO_TYPES:
        try:
            return raw_type.fromisoformat(arg)
        except ValueError:
            raise ValueError("give it in ISO 8601, such as 2022-07-01, 2022-07-01T10:05:33 "
                             "or 2022-07-01 10:05:33 +0400") from None
    return raw_type(arg)


_registry = TypeRegistry()


def get_type_registry() -> TypeRegistry:
    return _registry


class _RegisteringType(type):
    """Registers each Value class when it is defined, so its type name resolves."""

    def __init__(cls, name: str, bases: tuple, namespace: dict, **kwargs: Any) -> None:
        super().__init__(name, bases, namespace, **kwargs)
        if not namespace.get("type_name"):
            raw = namespace.get("type")
            cls.type_name = type_name_of(raw if isinstance(raw, type) else cls)
        _registry.register(cls)  # type: ignore[arg-type]


class Value(metaclass=_RegisteringType):
    """Base of custom value types. Override ``get_hash`` to say when two values are the
    same (the cache key of calls they are passed to) and ``is_valid`` to say when a
    cached one may no longer be used (the call that made it then runs again)."""

    type_name: ClassVar[str | None] = None

    def is_valid(self) -> bool:
        return True

    def get_hash(self, data: bytes | None = None) -> str:
        """By default, the hash of the value's pickle."""
        from bridge.native.hashing import hash_pickle

        return hash_pickle(self if data is None else data)

    def __bridge_hash__(self) -> str:
        from bridge.native.hashing import hash_parts

        return hash_parts("value:" + str(self.type_name), [self.get_hash()])

    @classmethod
    def parse_arg(cls, raw_type: type, arg: str) -> Any:
        """The value a command-line argument text stands for."""
        return cls(arg)  # type: ignore[call-arg]

    def iter_subvalues(self) -> Iterator[Value]:
        return iter(())


class ProxyValue(Value):
    """Custom hashing, validity and argument parsing for instances of ``type``."""

    proxy: ClassVar[bool] = True
    type: ClassVar[Any] = None

    def __init__(self, instance: Any) -> None:
        self.instance = instance

    def get_hash(self, data: bytes | None = None) -> str:
        from bridge.native.hashing import hash_pickle

        return hash_pickle(self.instance if data is None else data)
