"""Serialising values for the store: small ones inline, large ones in a value store."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

PREVIEW_CHARS = 200
DEFAULT_INLINE_LIMIT = 64 * 1024


def preview(value: Any) -> str:
    """A short, single-line repr for listings."""
    try:
        text = repr(value)
    except Exception as error:  # a user's __repr__ may fail; the store must not
        text = f"<{type(value).__name__}: repr failed: {error}>"
    text = text.replace("\n", " ")
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 3] + "..."


def type_name(value: Any) -> str:
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


class ValueStore:
    """A folder of pickled values named by their hash (the large-value side of the store)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, value_hash: str) -> Path:
        return self.root / value_hash[:2] / value_hash

    def put(self, value_hash: str, data: bytes) -> str:
        target = self.path(value_hash)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash never leaves a truncated value behind.
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        return str(target)

    def get(self, location: str) -> bytes:
        return Path(location).read_bytes()


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=5)


def loads(data: bytes) -> Any:
    return pickle.loads(data)
