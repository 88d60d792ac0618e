"""Serialising values for the store: small ones inline, large ones in a value store."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import pickle
from typing import Any

from bridge.native.filesystem import FileError, get_filesystem

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


# A value file is this line, the value's hash, the sha256 of the pickle, and the pickle:
# reading one checks it holds the value its row names, whole.
_MAGIC = b"bridge-value 1\n"
_HEADER = len(_MAGIC) + 64 + 1 + 64 + 1


class ValueStoreError(Exception):
    """The value store cannot be written; the message names the path and what to do."""


class DamagedValueError(Exception):
    """A value file is not the one its row names: truncated, corrupt, replaced by another
    value's file, or written before bridge checked them."""


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
        truncated value behind; an S3 put is atomic. A file found damaged by :meth:`get`
        is gone, so the call that runs again writes it afresh."""
        target = self.path(value_hash)
        try:
            if not self.filesystem.exists(target):
                self.filesystem.write_bytes(target, _header(value_hash, data) + data)
        except (OSError, FileError) as error:
            raise ValueStoreError(_write_failure(self.root, target, error)) from None
        return target

    def get(self, location: str, value_hash: str) -> memoryview:
        """The pickle stored at ``location``, checked against ``value_hash`` and its
        digest. A file that fails the check is removed and :class:`DamagedValueError`
        raised: the caller treats it as a miss and the re-run writes it again."""
        filesystem = get_filesystem(location)
        data = filesystem.read_bytes(location)
        payload = memoryview(data)[_HEADER:]
        if data[:_HEADER] == _header(value_hash, payload):
            return payload
        with contextlib.suppress(OSError, FileError):  # read-only: still never replayed
            filesystem.remove(location)
        raise DamagedValueError(
            f"{location} does not hold value {value_hash[:12]} whole (truncated, corrupt, "
            "another value's file, or written by an older bridge)"
        )


def _header(value_hash: str, payload: bytes | memoryview) -> bytes:
    return b"%s%s\n%s\n" % (_MAGIC, value_hash.encode(),
                             hashlib.sha256(payload).hexdigest().encode())


def _write_failure(root: str, target: str, error: BaseException) -> str:
    """What failed writing a value file and what to do about it."""
    if isinstance(error, OSError) and error.errno is not None:
        code = errno.errorcode.get(error.errno, str(error.errno))
        what = f"{error.filename or target}: {error.strerror} ({code})"
    else:
        what = str(error)
    return (
        f"cannot write a large value to the value store {root}: {what}. Free space "
        "there, make it writable, or point `value_store` in the [backend] section of "
        "bridge.ini at another folder or s3:// prefix"
    )


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=5)


def loads(data: bytes) -> Any:
    return pickle.loads(data)
