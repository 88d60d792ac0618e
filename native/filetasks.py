"""Built-in file tasks that work across local, S3 and HTTP storage."""

from __future__ import annotations

from bridge.native.file import Dir, File
from bridge.native.filesystem import get_filesystem
from bridge.native.task import namespace, task

with namespace("bridge"):

    # Not cached: a new file that matches must show up. The Files it returns hash as
    # before, so what reads them still replays.
    @task(version="1", cache=False)
    def glob_file(pattern: str) -> list[File]:
        """The files matching a glob (``*``, ``?``, ``**``), local or ``s3://``, sorted."""
        return [File(path) for path in get_filesystem(pattern).glob(pattern)]

    @task(version="1")
    def copy_file(src_file: File | str, dest_path: str, skip_if_exists: bool = False) -> File:
        """Copy a file to ``dest_path`` (local, or ``s3://``) and return the copy."""
        source = src_file if isinstance(src_file, File) else File(src_file)
        return source.copy_to(dest_path, skip_if_exists=skip_if_exists)

    @task(version="1")
    def copy_dir(src_dir: Dir | str, dest_path: str, skip_if_exists: bool = False) -> Dir:
        """Copy every file of a folder to the same relative paths under ``dest_path``."""
        source = src_dir if isinstance(src_dir, Dir) else Dir(src_dir)
        return source.copy_to(dest_path, skip_if_exists=skip_if_exists)
