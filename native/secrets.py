"""Which task arguments are secret. Their values stay out of what bridge shows and keeps
as text: the execution's description (the command line) and the argument previews
`bridge log` prints. The values themselves are still hashed and stored, since the cache
needs them.

An argument is secret when its type hint is marked (``password: Secret``, or
``Annotated[T, Secret]`` for another type T), or when its name holds one of
:data:`SECRET_WORDS` as a word between underscores or dashes (``db_password``,
``api_token``, ``client_secret``, ``apikey``), or ``api`` followed by ``key``
(``api_key``, ``openai_api_key``). Case does not matter.
"""

from __future__ import annotations

import functools
import typing
from typing import Annotated, Any

REDACTED = "***"
SECRET_WORDS = frozenset({"password", "passwd", "secret", "token", "credential",
                          "credentials", "apikey"})


class _SecretMark:
    def __repr__(self) -> str:
        return "bridge.Secret"


_MARK = _SecretMark()

Secret = Annotated[str, _MARK]
"""A string argument whose value bridge keeps out of its record's text and listings."""


def secret_name(name: str) -> bool:
    """Whether an argument's name says it holds a secret."""
    normal = name.lower().replace("-", "_")
    return not SECRET_WORDS.isdisjoint(normal.split("_")) or "_api_key_" in f"_{normal}_"


def _marked(hint: Any) -> bool:
    """``Secret``, ``Annotated[T, Secret]``, or a hint holding one (``Secret | None``)."""
    metadata = getattr(hint, "__metadata__", ())
    if _MARK in metadata or Secret in metadata:
        return True
    return any(_marked(arg) for arg in typing.get_args(hint))


@functools.cache
def secret_parameters(task: Any) -> frozenset[str]:
    """The names of the task's secret parameters (computed once per task)."""
    try:
        hints = typing.get_type_hints(task.func, include_extras=True)
    except Exception:  # a hint that does not resolve: the names still count
        hints = {}
    return frozenset(name for name in task.signature.parameters
                     if secret_name(name) or _marked(hints.get(name)))
