"""Files as values: hashed by path and content identity, so changed data re-runs what
read it and a changed or deleted output re-runs what made it.

``File`` and ``Dir`` work for local paths, ``s3://`` and ``http(s)://`` (read only);
the storage itself lives in :mod:`bridge.native.filesystem`. The engine calls
:func:`find_files` on every result and :func:`files_unchanged` on a cache hit.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import threading
from collections.abc import Iterable, Iterator
from typing import IO, Any

from bridge.native.file_identity import IdentityMode, check_mode
from bridge.native.filesystem import FileError, copy_path, get_filesystem
from bridge.native.hashing import hash_parts, hash_text
from bridge.native.nested import iter_nested

__all__ = ["Dir", "File", "FileError", "StagingDir", "StagingFile", "files_unchanged",
           "find_files"]


def _file_hash(path: str, identity: str | None) -> str:
    return hash_text(f"file:{path}:{identity or 'missing'}")


_looked_up = threading.local()


@contextlib.contextmanager
def one_look_per_path() -> Iterator[None]:
    """Within the block, each File or Dir path is looked up on its storage once (a stat,
    an S3 HEAD): hashing a call's arguments and recording their files read the same
    identity, at the cost of one request."""
    _looked_up.hashes = {}
    try:
        yield
    finally:
        _looked_up.hashes = None


class _Path:
    """What File and Dir share: a path on some storage backend.

    ``identity`` chooses how a local file is known: "content" (a sha256 of its bytes),
    "stat" (size and mtime), or None, the default: content up to the configured size
    limit (``[files] content_hash_limit``), stat above it. Other storage ignores it."""

    identity: IdentityMode | None = None  # a class default: Files pickled before it load

    def __init__(self, path: str | os.PathLike, identity: IdentityMode | None = None) -> None:
        self.path = os.fspath(path)
        if identity is not None:
            self.identity = check_mode(identity, f"{type(self).__name__}({self.path!r})")

    def __repr__(self) -> str:
        extra = f", identity={self.identity!r}" if self.identity else ""
        return f"{type(self).__name__}({self.path!r}{extra})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.path == self.path  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.path))

    def __bridge_hash__(self) -> str:
        return self.hash

    @property
    def hash(self) -> str:
        """The path and its content identity, as the storage reports it now."""
        remembered = getattr(_looked_up, "hashes", None)
        if remembered is None:
            return self._stand_in(self._current_hash())
        key = (type(self), self.path, self.identity)
        found = remembered.get(key)
        if found is None:
            found = remembered[key] = self._current_hash()
        return self._stand_in(found)

    def _stand_in(self, found: str) -> str:
        """What a temporary File hashes as: gone, its last hash seen stands for it."""
        return found

    def _current_hash(self) -> str:
        raise NotImplementedError

    @property
    def filesystem(self) -> Any:
        return get_filesystem(self.path)

    @property
    def uri(self) -> str:
        return self.path

    def get_hash(self, data: bytes | None = None) -> str:
        """The hash: redun's spelling of ``.hash`` (its ``data`` is not used)."""
        return self.hash

    def basename(self) -> str:
        return posixpath.basename(self.path.rstrip("/"))

    def dirname(self) -> str:
        return posixpath.dirname(self.path.rstrip("/"))


class File(_Path):
    """A file on local disk, in S3 or behind an HTTP(S) URL.

    Its hash is its path plus its content identity (locally a sha256 of a small file's
    bytes, size and mtime of a large one; the ETag on S3, the ETag or Last-Modified over
    HTTP)."""

    temporary = False  # see temp()
    _last_hash: str | None = None  # a temporary File's hash when it was last seen

    def temp(self) -> File:
        """This file as a temporary output: a run removes it once the run has finished
        (unless the run's result holds it), and while it is gone its last hash stands for
        it, so the calls that read it stay cached. A call that must run and reads it gets
        it back first: its producer runs again.

        A temporary file is known by its content (``identity="content"``) unless this File
        was given an identity: made again, a large one has a new mtime, and only its bytes
        can tell its readers that it is the file their calls recorded. The cost is one read
        of the file to hash it."""
        copy = File(self.path, self.identity or "content")
        copy.temporary = True
        return copy

    def _stand_in(self, found: str) -> str:
        if not self.temporary:
            return found
        if found != _file_hash(self.path, None):
            self._last_hash = found
            return found
        return self._last_hash or found

    def _current_hash(self) -> str:
        return _file_hash(self.path, self.filesystem.identity(self.path, self.identity))

    def exists(self) -> bool:
        return self.filesystem.exists(self.path)

    def size(self) -> int:
        return self.filesystem.size(self.path)

    def open(self, mode: str = "r", encoding: str | None = None) -> IO[Any]:
        return self.filesystem.open(self.path, mode, encoding)

    def read(self, mode: str = "r", encoding: str | None = None) -> str | bytes:
        data = self.filesystem.read_bytes(self.path)
        return data if "b" in mode else data.decode(encoding or "utf-8")

    def readlines(self, mode: str = "r", encoding: str | None = None) -> list[str] | list[bytes]:
        """The lines, each with its line ending, as ``open(...).readlines()`` gives them."""
        with self.open(mode, encoding) as handle:
            return handle.readlines()

    def touch(self, times: tuple[float, float] | None = None) -> None:
        """Make the file empty if it is missing; locally, set its times (now, or
        ``times``: access and modification)."""
        self.filesystem.touch(self.path, times)

    def isfile(self) -> bool:
        return self.filesystem.isfile(self.path)

    def isdir(self) -> bool:
        return self.filesystem.isdir(self.path)

    def shell_copy_to(self, dest_path: str) -> str:
        """A shell command that copies this file to ``dest_path``, local or on S3."""
        target = get_filesystem(dest_path)
        if target.name == "local":
            return self.filesystem.shell_download(self.path, dest_path)
        return target.shell_upload(self.path, dest_path)

    def write(self, data: str | bytes, mode: str | None = None, encoding: str | None = None
              ) -> File:
        """Write all of ``data`` (text or bytes) and return this File."""
        if isinstance(data, str):
            data = data.encode(encoding or "utf-8")
        elif mode is not None and "b" not in mode:
            raise TypeError(f"File({self.path!r}).write: text mode {mode!r} needs str data")
        self.filesystem.write_bytes(self.path, data)
        return self

    def remove(self) -> None:
        self.filesystem.remove(self.path)

    def copy_to(self, dest: File | str, skip_if_exists: bool = False) -> File:
        """Copy to ``dest`` (a File or a path, on any backend) and return it as a File."""
        target = dest if isinstance(dest, File) else File(dest, self.identity)
        if skip_if_exists and target.exists():
            return target
        try:
            copy_path(self.path, target.path)
        except Exception:
            if not self.exists():  # checked only on failure: one request less per copy
                raise FileError(f"cannot copy {self.path}: it does not exist") from None
            raise
        return target

    def stage(self, local: str | None = None) -> StagingFile:
        """Pair this (remote) file with a local path, for script(): by default its own
        name in the working folder, or in ``local`` when that ends with ``/``."""
        if local is None or local.endswith("/"):
            local = (local or "") + self.basename()
        return StagingFile(local, self)


class Dir(_Path):
    """A folder of files (local, or an S3 prefix). Its hash is the hashes of its files."""

    def __init__(self, path: str | os.PathLike, identity: IdentityMode | None = None) -> None:
        text = os.fspath(path)
        super().__init__(text.rstrip("/") or text, identity)

    def _entries(self) -> list[tuple[str, str]]:
        return self.filesystem.walk(self.path, self.identity)

    def _current_hash(self) -> str:
        entries = self._entries()
        return hash_parts("dir:" + self.path, [_file_hash(p, ident) for p, ident in entries])

    def exists(self) -> bool:
        return self.filesystem.isdir(self.path)

    def files(self) -> list[File]:
        """Every file beneath this folder, sorted by path."""
        return [File(path, self.identity) for path, _ in self._entries()]

    def __iter__(self) -> Iterator[File]:
        return iter(self.files())

    def file(self, relative: str) -> File:
        return File(self.filesystem.join(self.path, relative), self.identity)

    def rel_path(self, path: File | str) -> str:
        """The relative path from this folder to ``path`` (a File or a path), as
        ``os.path.relpath`` gives it: a file beneath it gives its path within it."""
        return posixpath.relpath(path.path if isinstance(path, _Path) else os.fspath(path),
                                 self.path)

    def mkdir(self) -> None:
        """Make the folder, and its parents (nothing to make on S3)."""
        self.filesystem.mkdir(self.path)

    def rmdir(self, recursive: bool = False) -> None:
        """Remove the folder; one that holds files only with ``recursive``."""
        self.filesystem.rmdir(self.path, recursive)

    def size(self) -> int:
        return sum(file.size() for file in self.files())

    def remove(self) -> None:
        self.filesystem.remove(self.path)

    def copy_to(self, dest: Dir | str, skip_if_exists: bool = False) -> Dir:
        """Copy every file to the same relative path under ``dest``; return it as a Dir."""
        target = dest if isinstance(dest, Dir) else Dir(dest)
        for file in self.files():
            file.copy_to(target.file(self.rel_path(file)), skip_if_exists=skip_if_exists)
        return target

    def stage(self, local: str | None = None) -> StagingDir:
        return StagingDir(local if local is not None else self.basename(), self)


class _Staging:
    """A (local, remote) pair: ``stage()`` copies remote to local, ``unstage()`` back."""

    kind: type[File] | type[Dir] = File

    def __init__(self, local: str | os.PathLike | _Path, remote: str | os.PathLike | _Path
                 ) -> None:
        self.local = local if isinstance(local, self.kind) else self.kind(_text(local))
        self.remote = remote if isinstance(remote, self.kind) else self.kind(_text(remote))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(local={self.local.path!r}, remote={self.remote.path!r})"

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and other.local == self.local  # type: ignore[attr-defined]
                and other.remote == self.remote)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.local.path, self.remote.path))

    def __bridge_hash__(self) -> str:
        return hash_parts("staging", [hash_text(self.local.path), self.remote.hash])

    def stage(self) -> Any:
        return self.remote.copy_to(self.local.path)

    def unstage(self) -> Any:
        return self.local.copy_to(self.remote.path)

    def shell_stage(self) -> str:
        """The shell command that stages in (remote to local), for script()."""
        return self.remote.filesystem.shell_download(
            self.remote.path, self.local.path, recursive=self.kind is Dir)

    def shell_unstage(self) -> str:
        return self.remote.filesystem.shell_upload(
            self.local.path, self.remote.path, recursive=self.kind is Dir)


class StagingFile(_Staging):
    kind = File


class StagingDir(_Staging):
    kind = Dir


def _text(path: str | os.PathLike | _Path) -> str:
    return path.path if isinstance(path, _Path) else os.fspath(path)


# -- what the engine calls ---------------------------------------------------------------

# Values that hold no File, Dir or expression: what most arguments and results are.
SCALAR_TYPES = frozenset({str, int, float, bool, complex, type(None), bytes})


def find_files(value: Any) -> list[list[str]]:
    """[[uri, hash], ...] for every File and Dir in a (nested) value. A Dir's uri ends
    with "/", so :func:`files_unchanged` knows to hash it as a folder. A File or Dir with
    an ``identity`` of its own, or a temporary File, is recorded as [uri, hash, flags],
    flags naming them ("stat", "temp", "content,temp"), so it is checked the same way
    (readers of these lists unpack ``uri, file_hash, *_``)."""
    cls = type(value)
    if cls in SCALAR_TYPES or (cls in (list, tuple)
                               and all(type(x) in SCALAR_TYPES for x in value)):
        return []  # the common results and arguments, told without walking them
    return [_recorded(item) for item in iter_files(value)]


def find_temporary_files(value: Any) -> list[list[str]]:
    """:func:`find_files`, for the temporary files only (no other file is looked at)."""
    return [_recorded(item) for item in iter_files(value) if is_temporary(item)]


def _recorded(item: File | Dir) -> list[str]:
    entry = [recorded_uri(item), item.hash]
    flags = ",".join(filter(None, [item.identity, "temp" if is_temporary(item) else ""]))
    return [*entry, flags] if flags else entry


def is_temporary(item: File | Dir) -> bool:
    return isinstance(item, File) and item.temporary


def recorded_flags(entry: list[str]) -> tuple[IdentityMode | None, bool]:
    """(identity, temporary) of a recorded [uri, hash] or [uri, hash, flags]."""
    flags = entry[2].split(",") if len(entry) > 2 else []
    identity = next((flag for flag in flags if flag != "temp"), None)
    return identity, "temp" in flags  # type: ignore[return-value]


def recorded_uri(item: File | Dir) -> str:
    """The uri a File or Dir is recorded under (a Dir's ends with "/")."""
    return item.uri + "/" if isinstance(item, Dir) else item.uri


def iter_files(value: Any) -> Iterator[File | Dir]:
    """Every File and Dir in a value, through containers, dataclasses, pydantic models
    and staging pairs."""
    for item in iter_nested(value):
        if isinstance(item, File | Dir):
            yield item
        elif isinstance(item, _Staging):
            yield from iter_files(item.remote)


def files_unchanged(recorded: Iterable[list[str]], temp_may_be_gone: bool = True) -> bool:
    """True when every recorded [uri, hash] (or [uri, hash, flags]) still has that hash.
    A temporary file that is gone counts as unchanged (its recorded hash stands for it)
    unless ``temp_may_be_gone`` is False. Each path is looked up once, however often it is
    recorded; a path recorded with two hashes (a file changed in place during the run)
    can never match both, so it is never valid."""
    current: dict[tuple[str, str | None], str] = {}
    for entry in recorded:
        uri, recorded_hash = entry[0], entry[1]
        identity, temporary = recorded_flags(entry)
        key = (uri, identity)
        now = current.get(key)
        if now is None:
            kind = Dir if uri.endswith("/") else File
            now = current[key] = kind(uri, identity).hash
        if now != recorded_hash and not (
                temporary and temp_may_be_gone and now == _file_hash(uri, None)):
            return False
    return True
