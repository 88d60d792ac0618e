"""Arguments bound to a task's signature before hashing, so one call is one cache entry
however it is spelled: ``f(2)``, ``f(n=2)`` and ``f(2, 0)`` (with ``acc=0`` the default)
name the same parameters with the same values, defaults applied."""

from __future__ import annotations

import inspect
from typing import Any

from bridge.native.hashing import hash_parts, hash_value

_PLAIN = inspect.Parameter.POSITIONAL_OR_KEYWORD
_VAR_POSITIONAL = inspect.Parameter.VAR_POSITIONAL
_VAR_KEYWORD = inspect.Parameter.VAR_KEYWORD


class CallSignatureError(TypeError):
    """A task was called with arguments that do not fit its signature."""


class Binding:
    """Binds argument hashes (not values: they are hashed once, by the caller) to one
    task's parameters. Signatures of plain parameters, the common case, bind without
    ``inspect.Signature.bind``."""

    def __init__(self, task_name: str, signature: inspect.Signature) -> None:
        self.task_name = task_name
        self.signature = signature
        self.parameters = list(signature.parameters.values())
        self.names = [p.name for p in self.parameters]
        self.positions = {name: index for index, name in enumerate(self.names)}
        self.plain = all(p.kind is _PLAIN for p in self.parameters)
        self._default_hashes: dict[str, str] = {}

    def bound_hashes(self, arg_hashes: list[str], kwarg_hashes: dict[str, str]) -> list[str]:
        """``name=hash`` for every parameter in signature order, defaults applied."""
        if self.plain:
            names = self.names
            count = len(arg_hashes)
            positions = self.positions
            if count <= len(names) and (not kwarg_hashes or all(
                positions.get(name, -1) >= count for name in kwarg_hashes
            )):
                parts = [f"{name}={h}" for name, h in zip(names, arg_hashes, strict=False)]
                if count == len(names):  # all given by position: nothing left to bind
                    return parts
                for name in names[count:]:
                    given = kwarg_hashes.get(name)
                    parts.append(f"{name}={given if given is not None else self._default(name)}")
                return parts
        return self._bind_generally(arg_hashes, kwarg_hashes)

    def _bind_generally(self, arg_hashes: list[str], kwarg_hashes: dict[str, str]) -> list[str]:
        try:
            bound = self.signature.bind(*arg_hashes, **kwarg_hashes).arguments
        except TypeError as error:
            raise CallSignatureError(
                f"task {self.task_name} was called with arguments that do not fit its "
                f"signature {self.task_name}{self.signature}: {error}"
            ) from None
        parts = []
        for parameter in self.parameters:
            name = parameter.name
            if name not in bound:
                if parameter.kind in (_VAR_POSITIONAL, _VAR_KEYWORD):
                    continue
                parts.append(f"{name}={self._default(name)}")
            elif parameter.kind is _VAR_POSITIONAL:
                parts.append(f"*{name}=" + hash_parts("tuple", bound[name]))
            elif parameter.kind is _VAR_KEYWORD:
                extra = sorted(f"{key}={h}" for key, h in bound[name].items())
                parts.append(f"**{name}=" + hash_parts("kwargs", extra))
            else:
                parts.append(f"{name}={bound[name]}")
        return parts

    def _default(self, name: str) -> str:
        found = self._default_hashes.get(name)
        if found is None:
            default: Any = self.signature.parameters[name].default
            if default is inspect.Parameter.empty:
                raise CallSignatureError(
                    f"task {self.task_name} was called without its argument {name!r}, which "
                    f"has no default: {self.task_name}{self.signature}"
                )
            found = self._default_hashes[name] = hash_value(default)
        return found
