"""The HTTP(S) backend: read only, standard library."""

from __future__ import annotations

import hashlib
import shlex
import urllib.error
import urllib.request
from typing import IO, Any

from bridge.native.filesystem import FileError, FileSystem, shell_mkdir_for

HTTP_TIMEOUT = 60


class HTTPFileSystem(FileSystem):
    """http(s):// URLs, read only: HEAD for identity and size, GET for content."""

    name = "http"

    def _head(self, path: str) -> Any | None:
        request = urllib.request.Request(path, method="HEAD")
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
                return response.headers
        except urllib.error.HTTPError as error:
            if error.code in (404, 410):
                return None
            raise FileError(f"{path}: HTTP {error.code} {error.reason}") from None

    def identity(self, path: str, mode: str | None = None) -> str | None:
        headers = self._head(path)
        if headers is None:
            return None
        for header in ("ETag", "Last-Modified"):
            if headers.get(header):
                return f"{header}:{headers[header]}"
        # The server gives no validator: fall back on the content itself.
        return "sha256:" + hashlib.sha256(self.read_bytes(path)).hexdigest()

    def size(self, path: str) -> int:
        headers = self._head(path)
        if headers is None:
            raise FileError(f"{path} does not exist")
        length = headers.get("Content-Length")
        return int(length) if length is not None else len(self.read_bytes(path))

    def _open_binary(self, path: str, mode: str) -> IO[bytes]:
        if mode != "r":
            raise FileError(f"{path}: http(s) files are read only; write to a local or s3:// path")
        try:
            return urllib.request.urlopen(path, timeout=HTTP_TIMEOUT)
        except urllib.error.HTTPError as error:
            if error.code in (404, 410):
                raise FileNotFoundError(f"{path} does not exist") from None
            raise FileError(f"{path}: HTTP {error.code} {error.reason}") from None

    def remove(self, path: str) -> None:
        raise FileError(f"{path}: http(s) files are read only")

    def isdir(self, path: str) -> bool:
        return False

    def walk(self, path: str, mode: str | None = None) -> list[tuple[str, str]]:
        raise FileError(f"{path}: http(s) folders cannot be listed; name the files instead")

    def glob(self, pattern: str) -> list[str]:
        raise FileError(f"{pattern}: http(s) paths cannot be globbed; name the files instead")

    def copy(self, src: str, dest: str) -> None:
        raise FileError(f"{dest}: http(s) files are read only")

    def shell_download(self, path: str, local: str, recursive: bool = False) -> str:
        if recursive:
            raise FileError(f"{path}: http(s) folders cannot be staged; stage the files")
        return f"{shell_mkdir_for(local)}curl -fsSL -o {shlex.quote(local)} {shlex.quote(path)}"
