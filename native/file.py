"""Files as values: hashed by path and content identity, so changed data re-runs
what read it and a changed or deleted output re-runs what made it."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from bridge.native.hashing import hash_text


class File:
    """A file on local disk. Its hash is its path plus size and mtime (content identity)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)

    def __repr__(self) -> str:
        return f"File({self.path!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, File) and other.path == self.path

    def __hash__(self) -> int:
        return hash(("File", self.path))

    @property
    def uri(self) -> str:
        return self.path

    @property
    def hash(self) -> str:
        try:
            stat = os.stat(self.path)
            identity = f"{stat.st_size}:{stat.st_mtime_ns}"
        except FileNotFoundError:
            identity = "missing"
        return hash_text(f"file:{self.path}:{identity}")

    def __bridge_hash__(self) -> str:
        return self.hash

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def read(self, mode: str = "r") -> str | bytes:
        with open(self.path, mode) as handle:
            return handle.read()

    def write(self, data: str | bytes) -> File:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with open(self.path, "wb" if isinstance(data, bytes) else "w") as handle:
            handle.write(data)
        return self


def find_files(value: Any) -> list[list[str]]:
    """[[uri, hash], ...] for every File in a (nested) value."""
    found: list[list[str]] = []
    _collect(value, found)
    return found


def _collect(value: Any, found: list[list[str]]) -> None:
    cls = type(value)
    if cls in _SCALARS:
        return
    if isinstance(value, File):
        found.append([value.uri, value.hash])
    elif cls is dict:
        for item in value.values():
            _collect(item, found)
    elif cls in (list, tuple, set, frozenset) or isinstance(value, tuple):
        for item in value:
            _collect(item, found)


_SCALARS = frozenset({int, float, str, bool, bytes, type(None)})


def files_unchanged(recorded: Iterable[list[str]]) -> bool:
    """True when every recorded [uri, hash] still has that hash."""
    return all(File(uri).hash == recorded_hash for uri, recorded_hash in recorded)
