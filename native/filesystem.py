"""Storage backends behind File and Dir: local disk, S3 (boto3, loaded on first use) and
HTTP(S) (read only, standard library).

Each backend answers the same small set of questions about a path, including its
*identity*: a short string that changes whenever the content changes (size and mtime
locally, the ETag on S3, the ETag or Last-Modified over HTTP), or None when the path
is missing. Hashes of files are built from identities, so they cost a stat or a HEAD,
never a read of the data.
"""

from __future__ import annotations

import glob as globlib
import hashlib
import io
import os
import re
import shlex
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
from typing import IO, Any

HTTP_TIMEOUT = 60


class FileError(Exception):
    """A file operation that cannot work as asked; the message names the path."""


class FileSystem:
    """The questions File and Dir ask of a storage backend."""

    name = ""

    def exists(self, path: str) -> bool:
        return self.identity(path) is not None

    def identity(self, path: str) -> str | None:
        raise NotImplementedError

    def size(self, path: str) -> int:
        raise NotImplementedError

    def open(self, path: str, mode: str = "r", encoding: str | None = None) -> IO[Any]:
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

    def walk(self, path: str) -> list[tuple[str, str]]:
        """(path, identity) of every file beneath a folder, sorted by path."""
        raise NotImplementedError

    def glob(self, pattern: str) -> list[str]:
        raise NotImplementedError

    def download(self, path: str, local: str) -> None:
        """Copy ``path`` to a local file."""
        _makedirs_for(local)
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

    def identity(self, path: str) -> str | None:
        try:
            stat = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return f"{stat.st_size}:{stat.st_mtime_ns}"

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def size(self, path: str) -> int:
        return os.path.getsize(path)

    def _open_binary(self, path: str, mode: str) -> IO[bytes]:
        if mode in ("w", "a", "x"):
            _makedirs_for(path)
        return open(path, mode + "b")

    def write_bytes(self, path: str, data: bytes) -> None:
        # Write then rename, so a reader (or a crash) never sees a half-written file.
        _makedirs_for(path)
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

    def walk(self, path: str) -> list[tuple[str, str]]:
        found = []
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in files:
                full = os.path.join(root, name)
                identity = self.identity(full)
                if identity is not None:
                    found.append((full, identity))
        return sorted(found)

    def glob(self, pattern: str) -> list[str]:
        return sorted(p for p in globlib.glob(pattern, recursive=True) if os.path.isfile(p))

    def download(self, path: str, local: str) -> None:
        self.copy(path, local)

    def upload(self, local: str, path: str) -> None:
        self.copy(local, path)

    def copy(self, src: str, dest: str) -> None:
        _makedirs_for(dest)
        shutil.copyfile(src, dest)

    def shell_download(self, path: str, local: str, recursive: bool = False) -> str:
        return _shell_cp(os.path.abspath(path), local, recursive)

    def shell_upload(self, local: str, path: str, recursive: bool = False) -> str:
        return _shell_cp(local, os.path.abspath(path), recursive)

    def join(self, base: str, relative: str) -> str:
        return os.path.join(base, relative)


class S3FileSystem(FileSystem):
    """s3://bucket/key through boto3. boto3 reads its endpoint, region and credentials
    from the usual AWS_* variables and files (AWS_ENDPOINT_URL points it at moto)."""

    name = "s3"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[tuple, Any] = {}

    @property
    def client(self) -> Any:
        key = tuple(os.environ.get(name) for name in _AWS_ENV)
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    try:
                        import boto3
                    except ImportError:
                        raise FileError(
                            "s3:// paths need boto3: pip install 'bridge-workflows[aws]'"
                        ) from None
                    client = boto3.session.Session().client("s3")
                    self._clients[key] = client
        return client

    def _head(self, path: str) -> dict | None:
        bucket, key = split_s3(path)
        try:
            return self.client.head_object(Bucket=bucket, Key=key)
        except Exception as error:
            if _s3_status(error) in (403, 404):
                return None
            raise

    def identity(self, path: str) -> str | None:
        head = self._head(path)
        return None if head is None else head["ETag"].strip('"')

    def size(self, path: str) -> int:
        head = self._head(path)
        if head is None:
            raise FileError(f"{path} does not exist")
        return int(head["ContentLength"])

    def _open_binary(self, path: str, mode: str) -> IO[bytes]:
        bucket, key = split_s3(path)
        if mode == "r":
            try:
                body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
            except Exception as error:
                if _s3_status(error) == 404:
                    raise FileNotFoundError(f"{path} does not exist") from None
                raise
            return io.BufferedReader(_RawReader(body), 1024 * 1024)
        if mode == "w":
            return _UploadOnClose(lambda data: self.client.put_object(
                Bucket=bucket, Key=key, Body=data))
        raise FileError(f"{path}: S3 files open for reading ('r') or writing ('w'), not {mode!r}")

    def write_bytes(self, path: str, data: bytes) -> None:
        bucket, key = split_s3(path)
        self.client.put_object(Bucket=bucket, Key=key, Body=data)

    def read_bytes(self, path: str) -> bytes:
        with self._open_binary(path, "r") as handle:
            return handle.read()

    def remove(self, path: str) -> None:
        bucket, key = split_s3(path)
        if self.exists(path):
            self.client.delete_object(Bucket=bucket, Key=key)
            return
        for file_path, _ in self.walk(path):
            self.client.delete_object(Bucket=bucket, Key=split_s3(file_path)[1])

    def isdir(self, path: str) -> bool:
        bucket, key = split_s3(path)
        prefix = key.rstrip("/") + "/" if key else ""
        found = self.client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
        return found.get("KeyCount", 0) > 0

    def _list(self, bucket: str, prefix: str) -> list[dict]:
        paginator = self.client.get_paginator("list_objects_v2")
        return [obj for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
                for obj in page.get("Contents", [])]

    def walk(self, path: str) -> list[tuple[str, str]]:
        bucket, key = split_s3(path)
        prefix = key.rstrip("/") + "/" if key else ""
        return sorted((f"s3://{bucket}/{obj['Key']}", obj["ETag"].strip('"'))
                      for obj in self._list(bucket, prefix) if not obj["Key"].endswith("/"))

    def glob(self, pattern: str) -> list[str]:
        bucket, key = split_s3(pattern)
        literal = re.split(r"[*?\[]", key, maxsplit=1)[0]
        matcher = glob_regex(key)
        return sorted(f"s3://{bucket}/{obj['Key']}" for obj in self._list(bucket, literal)
                      if matcher.fullmatch(obj["Key"]))

    def download(self, path: str, local: str) -> None:
        bucket, key = split_s3(path)
        _makedirs_for(local)
        self.client.download_file(bucket, key, local)

    def upload(self, local: str, path: str) -> None:
        bucket, key = split_s3(path)
        self.client.upload_file(local, bucket, key)

    def copy(self, src: str, dest: str) -> None:
        src_bucket, src_key = split_s3(src)
        bucket, key = split_s3(dest)
        self.client.copy({"Bucket": src_bucket, "Key": src_key}, bucket, key)

    def shell_download(self, path: str, local: str, recursive: bool = False) -> str:
        flag = " --recursive" if recursive else ""
        return f"aws s3 cp --only-show-errors{flag} {shlex.quote(path)} {shlex.quote(local)}"

    def shell_upload(self, local: str, path: str, recursive: bool = False) -> str:
        flag = " --recursive" if recursive else ""
        return f"aws s3 cp --only-show-errors{flag} {shlex.quote(local)} {shlex.quote(path)}"


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

    def identity(self, path: str) -> str | None:
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

    def walk(self, path: str) -> list[tuple[str, str]]:
        raise FileError(f"{path}: http(s) folders cannot be listed; name the files instead")

    def glob(self, pattern: str) -> list[str]:
        raise FileError(f"{pattern}: http(s) paths cannot be globbed; name the files instead")

    def copy(self, src: str, dest: str) -> None:
        raise FileError(f"{dest}: http(s) files are read only")

    def shell_download(self, path: str, local: str, recursive: bool = False) -> str:
        if recursive:
            raise FileError(f"{path}: http(s) folders cannot be staged; stage the files")
        return f"{_shell_mkdir_for(local)}curl -fsSL -o {shlex.quote(local)} {shlex.quote(path)}"


class _RawReader(io.RawIOBase):
    """A raw stream over a botocore StreamingBody, so io.BufferedReader can wrap it."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


class _UploadOnClose(io.BytesIO):
    """Collects written bytes and uploads them once, when closed."""

    def __init__(self, upload: Any) -> None:
        super().__init__()
        self._upload = upload

    def close(self) -> None:
        if not self.closed:
            self._upload(self.getvalue())
        super().close()


_AWS_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION", "AWS_PROFILE",
            "AWS_ACCESS_KEY_ID")
_LOCAL = LocalFileSystem()
_S3 = S3FileSystem()
_HTTP = HTTPFileSystem()


def get_filesystem(path: str) -> FileSystem:
    if path.startswith("s3://"):
        return _S3
    if path.startswith(("http://", "https://")):
        return _HTTP
    return _LOCAL


def split_s3(path: str) -> tuple[str, str]:
    bucket, _, key = path[len("s3://"):].partition("/")
    if not bucket:
        raise FileError(f"{path!r} names no bucket: write s3://BUCKET/KEY")
    return bucket, key


def glob_regex(pattern: str) -> re.Pattern:
    """A glob as a regex: ``*`` and ``?`` stay within one path segment, ``**`` crosses them."""
    parts = []
    for token in re.split(r"(\*\*/?|\*|\?)", pattern):
        if token in ("**", "**/"):
            parts.append(".*")
        elif token == "*":
            parts.append("[^/]*")
        elif token == "?":
            parts.append("[^/]")
        else:
            parts.append(re.escape(token))
    return re.compile("".join(parts))


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


def _s3_status(error: Exception) -> int | None:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = response.get("Error", {}).get("Code")
    if code in ("NoSuchKey", "NotFound", "NoSuchBucket"):
        return 404
    return status


def _makedirs_for(path: str) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)


def _shell_cp(source: str, target: str, recursive: bool) -> str:
    if recursive:
        quoted = shlex.quote(target)
        return f"mkdir -p {quoted} && cp -R {shlex.quote(source + '/.')} {quoted}"
    return f"{_shell_mkdir_for(target)}cp {shlex.quote(source)} {shlex.quote(target)}"


def _shell_mkdir_for(path: str) -> str:
    parent = os.path.dirname(path)
    return f"mkdir -p {shlex.quote(parent)} && " if parent else ""
