"""Module attributes imported on first use (PEP 562), so that what a cached run does not
need costs it nothing while ``from module import name`` keeps working."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_getattr(namespace: dict[str, Any], modules: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for the module whose globals are ``namespace``: a name in
    ``modules`` is imported from the module named there, then kept in ``namespace``."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        value = namespace[name] = getattr(importlib.import_module(module), name)
        return value

    return __getattr__
