"""The content identity of a local file: a sha256 of its bytes up to a size limit, its size
and mtime above it (or whichever a File asks for by name).

Hashing the bytes makes a touched or re-made file with the same content the same value, so
its readers replay; the limit keeps large files (BAMs, FASTQs) at the cost of a stat. A
content hash is remembered within the process by (device, inode, size, mtime_ns), so a file
read by many calls, or checked by many cache entries, is read once while it is unchanged.
"""

from __future__ import annotations

import hashlib
import os
import threading
from stat import S_ISREG
from typing import Literal

IdentityMode = Literal["content", "stat"]
MODES: tuple[str, ...] = ("content", "stat")
DEFAULT_CONTENT_LIMIT = 1024 * 1024

_content_limit = DEFAULT_CONTENT_LIMIT
_remembered: dict[tuple[int, int, int, int], str] = {}
_remembered_lock = threading.Lock()
_REMEMBER_AT_MOST = 100_000  # entries (about 20 MB): a long-lived process does not grow forever


def set_content_limit(limit: int) -> None:
    """Files up to ``limit`` bytes are identified by content (0: none are). The scheduler
    sets it from ``[files] content_hash_limit`` before each run."""
    global _content_limit
    _content_limit = limit


def content_limit() -> int:
    return _content_limit


def check_mode(mode: str | None, what: str) -> IdentityMode | None:
    """``mode`` if it is a known identity mode (or None, the default); else a clear error."""
    if mode is not None and mode not in MODES:
        raise ValueError(f"{what}: identity={mode!r} is not one of 'content', 'stat' "
                         "(or None: content up to the configured size limit, stat above)")
    return mode  # type: ignore[return-value]


def local_identity(path: str, mode: str | None = None) -> str | None:
    """The identity of a local file, None when it is missing."""
    try:
        stat = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    by_content = mode == "content" or (mode is None and stat.st_size <= _content_limit)
    if not by_content or not S_ISREG(stat.st_mode):  # a folder, a FIFO: never read
        return _by_stat(stat)
    key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    digest = _remembered.get(key)
    if digest is None:
        try:
            digest, unchanged = _sha256_of(path, key)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError:  # unreadable here (permissions): known by its stat, as a large file
            return _by_stat(stat)
        if unchanged:  # not rewritten while it was read: safe to remember
            with _remembered_lock:
                if len(_remembered) >= _REMEMBER_AT_MOST:
                    _remembered.clear()
                _remembered[key] = digest
    return "sha256:" + digest


def _by_stat(stat: os.stat_result) -> str:
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _sha256_of(path: str, key: tuple[int, int, int, int]) -> tuple[str, bool]:
    """The file's sha256, and whether it is still the file ``key`` describes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
        stat = os.fstat(handle.fileno())
    return digest.hexdigest(), (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns) == key
