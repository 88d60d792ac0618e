"""Custom value types (redun's ``redun.value``): subclass :class:`Value` to decide how
a type hashes and when a cached one is still valid, or :class:`ProxyValue` (with
``type = SomeClass``) to do so for a class you cannot change."""

from bridge.native.custom_values import (
    InvalidValueError,
    ProxyValue,
    TypeRegistry,
    Value,
    get_type_registry,
)

__all__ = ["InvalidValueError", "ProxyValue", "TypeRegistry", "Value", "get_type_registry"]
