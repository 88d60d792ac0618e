"""Storage backends behind File and Dir: the shared interface, local disk, and the choice
of backend by path. S3 (``filesystem_s3``) and HTTP(S) (``filesystem_http``) load on
first use.

Each backend answers the same small set of questions about a path, including its
*identity*: a short string that changes whenever the content changes (locally a sha256 of
the bytes of a small file, size and mtime of a large one, see ``file_identity``; the ETag
on S3, the ETag or Last-Modified over HTTP), or None when the path is missing. Hashes of
files are built from identities, so they cost a stat or a HEAD, and a read of small local
files only.
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import tempfile
from typing import IO, Any

from bridge.native.file_identity import local_identity


class FileError(Exception):
    """A file operation that cannot work as asked; the message names the path."""


class FileSystem:
    """The questions File and Dir ask of a storage backend."""

    name = ""

    def exists(self, path: str) -> bool:
        return self.identity(path) is not None

    def identity(self, path: str, mode: str | None = None) -> str | None:
        """``mode`` ("content" or "stat") is a File's choice, heeded by local disk only."""
        raise NotImplementedError

    def size(self, path: str) -> int:
        raise NotImplementedError

    def open(self, path: str, mode: str = "r", encoding: str | None = None) -> IO[Any]:
        if "b" in mode and encoding is not None:  # as Python's open() refuses it
            raise ValueError(f"{path}: binary mode {mode!r} takes no encoding")
        binary = self._open_binary(path, mode.replace("t", "").replace("b", ""))
        return binary if "b" in mode else io.TextIOWrapper(binary, encoding=encoding or "utf-8")

    def _open_binary(self, path: str, mode: str) -> IO[bytes]:
        raise NotImplementedError

    def read_bytes(self, path: str) -> bytes:
        with self.open(path, "rb") as handle:
            return handle.read()

    def write_bytes(self, path: str, data: bytes) -> None:
        with self.open(path, "wb") as handle:
            handle.write(data)

    def remove(self, path: str) -> None:
        raise NotImplementedError

    def isdir(self, path: str) -> bool:
        raise NotImplementedError

    def isfile(self, path: str) -> bool:
        return self.exists(path)

    def touch(self, path: str, times: tuple[float, float] | None = None) -> None:
        """Make an empty file unless ``path`` exists (object stores keep no times)."""
        if not self.exists(path):
            self.write_bytes(path, b"")

    def mkdir(self, path: str) -> None:
        """Make a folder (and its parents): object stores need none before a write."""

    def rmdir(self, path: str, recursive: bool = False) -> None:
        """Remove a folder: with ``recursive``, everything beneath it too."""
        if recursive:
            self.remove(path)
        elif self.walk(path):
            raise _not_empty(path)

    def walk(self, path: str, mode: str | None = None) -> list[tuple[str, str]]:
        """(path, identity) of every file beneath a folder, sorted by path."""
        raise NotImplementedError

    def glob(self, pattern: str) -> list[str]:
        raise NotImplementedError

    def download(self, path: str, local: str) -> None:
        """Copy ``path`` to a local file."""
        makedirs_for(local)
        with self.open(path, "rb") as source, open(local, "wb") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)

    def upload(self, local: str, path: str) -> None:
        """Copy a local file to ``path``."""
        with open(local, "rb") as source, self.open(path, "wb") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)

    def copy(self, src: str, dest: str) -> None:
        """Copy within this backend."""
        with self.open(src, "rb") as source, self.open(dest, "wb") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)

    def shell_download(self, path: str, local: str, recursive: bool = False) -> str:
        """A shell command that copies ``path`` to ``local`` (used by script())."""
        raise NotImplementedError

    def shell_upload(self, local: str, path: str, recursive: bool = False) -> str:
        raise FileError(f"{path}: {self.name} storage is read only")

    def join(self, base: str, relative: str) -> str:
        return base.rstrip("/") + "/" + relative


class LocalFileSystem(FileSystem):
    name = "local"

    def identity(self, path: str, mode: str | None = None) -> str | None:
        return local_identity(path, mode)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def size(self, path: str) -> int:
        return os.path.getsize(path)

    def _open_binary(self, path: str, mode: str) -> IO[bytes]:
        if mode in ("w", "a", "x"):
            makedirs_for(path)
        return open(path, mode + "b")

    def write_bytes(self, path: str, data: bytes) -> None:
        # Write then rename, so a reader (or a crash) never sees a half-written file.
        makedirs_for(path)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

    def remove(self, path: str) -> None:
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def isfile(self, path: str) -> bool:
        return os.path.isfile(path)

    def touch(self, path: str, times: tuple[float, float] | None = None) -> None:
        if not os.path.exists(path):
            makedirs_for(path)
            open(path, "ab").close()
            if times is None:
                return
        os.utime(path, times)

    def mkdir(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def rmdir(self, path: str, recursive: bool = False) -> None:
        if not os.path.isdir(path):
            return
        if recursive:
            shutil.rmtree(path)
            return
        try:
            os.rmdir(path)
        except OSError:
            raise _not_empty(path) from None

    def walk(self, path: str, mode: str | None = None) -> list[tuple[str, str]]:
        found = []
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in files:
                full = os.path.join(root, name)
                identity = local_identity(full, mode)
                if identity is not None:
                    found.append((full, identity))
        return sorted(found)

    def glob(self, pattern: str) -> list[str]:
        import glob  # only for glob_file: not loaded by every run

        return sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))

    def download(self, path: str, local: str) -> None:
        self.copy(path, local)

    def upload(self, local: str, path: str) -> None:
        self.copy(local, path)

    def copy(self, src: str, dest: str) -> None:
        makedirs_for(dest)
        shutil.copyfile(src, dest)

    def shell_download(self, path: str, local: str, recursive: bool = False) -> str:
        return _shell_cp(os.path.abspath(path), local, recursive)

    def shell_upload(self, local: str, path: str, recursive: bool = False) -> str:
        return _shell_cp(local, os.path.abspath(path), recursive)

    def join(self, base: str, relative: str) -> str:
        return os.path.join(base, relative)


_LOCAL = LocalFileSystem()
_BACKENDS: dict[str, FileSystem] = {}


def get_filesystem(path: str) -> FileSystem:
    if path.startswith("s3://"):
        return _backend("s3")
    if path.startswith(("http://", "https://")):
        return _backend("http")
    return _LOCAL


def _backend(name: str) -> FileSystem:
    """The S3 or HTTP backend, imported on first use."""
    backend = _BACKENDS.get(name)
    if backend is None:
        if name == "s3":
            from bridge.native.filesystem_s3 import S3FileSystem as backend_class
        else:
            from bridge.native.filesystem_http import HTTPFileSystem as backend_class
        backend = _BACKENDS.setdefault(name, backend_class())
    return backend


def copy_path(src: str, dest: str) -> None:
    """Copy one file between any two backends, by the cheapest route available."""
    src_fs, dest_fs = get_filesystem(src), get_filesystem(dest)
    if src_fs is dest_fs:
        src_fs.copy(src, dest)
    elif dest_fs is _LOCAL:
        src_fs.download(src, dest)
    elif src_fs is _LOCAL:
        dest_fs.upload(src, dest)
    else:
        with src_fs.open(src, "rb") as source, dest_fs.open(dest, "wb") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)


def makedirs_for(path: str) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)


def _not_empty(path: str) -> FileError:
    return FileError(f"{path}: the folder is not empty (rmdir(recursive=True) removes what "
                     "it holds)")


def _shell_cp(source: str, target: str, recursive: bool) -> str:
    if recursive:
        quoted = shlex.quote(target)
        return f"mkdir -p {quoted} && cp -R {shlex.quote(source + '/.')} {quoted}"
    return f"{shell_mkdir_for(target)}cp {shlex.quote(source)} {shlex.quote(target)}"


def shell_mkdir_for(path: str) -> str:
    parent = os.path.dirname(path)
    return f"mkdir -p {shlex.quote(parent)} && " if parent else ""
