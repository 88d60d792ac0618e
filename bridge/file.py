"""Files and folders as values, and the plain file helpers redun users import from
``redun.file``: they act at once (call them in a task body), unlike the tasks of the
same names in ``bridge`` and ``bridge.tools``, which are lazy and cached."""

from __future__ import annotations

from typing import IO, Any

from bridge.native.file import Dir, File, FileError, StagingDir, StagingFile
from bridge.native.filesystem import FileSystem, copy_path, get_filesystem

__all__ = [
    "Dir", "File", "FileError", "FileSystem", "StagingDir", "StagingFile", "copy_file",
    "get_filesystem", "glob_file", "open_file",
]


def glob_file(pattern: str) -> list[str]:
    """The paths matching a glob (``*``, ``?``, ``**``), local or ``s3://``, sorted."""
    return get_filesystem(pattern).glob(pattern)


def open_file(url: str, mode: str = "r", encoding: str | None = None) -> IO[Any]:
    """Open a local, ``s3://`` or ``http(s)://`` path."""
    return get_filesystem(url).open(url, mode, encoding)


def copy_file(src_path: str, dest_path: str, recursive: bool = False) -> None:
    """Copy a file (or, with ``recursive``, a folder's files) between any two places."""
    if recursive:
        Dir(src_path).copy_to(dest_path)
    else:
        copy_path(src_path, dest_path)
