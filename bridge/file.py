"""Files and folders as values, under the names redun users import from ``redun.file``."""

from bridge.native.file import Dir, File, FileError, StagingDir, StagingFile
from bridge.native.filesystem import FileSystem, get_filesystem
from bridge.native.filetasks import copy_dir, copy_file, glob_file

__all__ = [
    "Dir", "File", "FileError", "FileSystem", "StagingDir", "StagingFile", "copy_dir",
    "copy_file", "get_filesystem", "glob_file",
]
