"""Serialising values for the store: small ones inline, large ones in a value store."""

from __future__ import annotations

import os
import pickle
from typing import Any

from bridge.native.filesystem import get_filesystem

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
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


class ValueStore:
    """Pickled values named by their hash (the large-value side of the store): a local
    folder, or an S3 prefix (``s3://bucket/prefix``)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = os.fspath(root)
        self.filesystem = get_filesystem(self.root)

    def path(self, value_hash: str) -> str:
        return self.filesystem.join(self.filesystem.join(self.root, value_hash[:2]), value_hash)

    def put(self, value_hash: str, data: bytes) -> str:
        """Store ``data`` (once: the name is its hash) and return its location. Local
        writes go through a temporary file and a rename, so a crash never leaves a
        truncated value behind; an S3 put is atomic."""
        target = self.path(value_hash)
        if not self.filesystem.exists(target):
            self.filesystem.write_bytes(target, data)
        return target

    def get(self, location: str) -> bytes:
        return get_filesystem(location).read_bytes(location)


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=5)


def loads(data: bytes) -> Any:
    return pickle.loads(data)
