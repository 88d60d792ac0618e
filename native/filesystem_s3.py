"""The S3 backend: s3://bucket/key through boto3, which loads on first use."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import threading
from collections.abc import Iterator
from typing import IO, Any

from bridge.native.filesystem import FileError, FileSystem, makedirs_for

# A client is made per distinct value of these, so a changed endpoint or account is honoured.
_AWS_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION", "AWS_PROFILE",
            "AWS_ACCESS_KEY_ID")


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
        with explained(path):
            try:
                return self.client.head_object(Bucket=bucket, Key=key)
            except Exception as error:
                if _s3_status(error) in (403, 404):
                    return None
                raise

    def identity(self, path: str, mode: str | None = None) -> str | None:
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
                with explained(path):
                    body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
            except Exception as error:
                if _s3_status(error) == 404:
                    raise FileNotFoundError(f"{path} does not exist") from None
                raise
            return io.BufferedReader(_RawReader(body), 1024 * 1024)
        if mode == "w":
            return _UploadOnClose(lambda data: self.write_bytes(path, data))
        raise FileError(f"{path}: S3 files open for reading ('r') or writing ('w'), not {mode!r}")

    def write_bytes(self, path: str, data: bytes) -> None:
        bucket, key = split_s3(path)
        with explained(path):
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
        with explained(path):
            try:
                found = self.client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
            except Exception as error:
                if _s3_status(error) == 404:  # no such bucket: no such folder either
                    return False
                raise
        return found.get("KeyCount", 0) > 0

    def _list(self, bucket: str, prefix: str) -> list[dict]:
        paginator = self.client.get_paginator("list_objects_v2")
        with explained(f"s3://{bucket}/{prefix}"):
            return [obj for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
                    for obj in page.get("Contents", [])]

    def walk(self, path: str, mode: str | None = None) -> list[tuple[str, str]]:
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
        makedirs_for(local)
        with explained(path):
            self.client.download_file(bucket, key, local)

    def upload(self, local: str, path: str) -> None:
        bucket, key = split_s3(path)
        with explained(path):
            self.client.upload_file(local, bucket, key)

    def copy(self, src: str, dest: str) -> None:
        src_bucket, src_key = split_s3(src)
        bucket, key = split_s3(dest)
        with explained(dest):  # a missing source is named by File.copy_to
            self.client.copy({"Bucket": src_bucket, "Key": src_key}, bucket, key)

    def shell_download(self, path: str, local: str, recursive: bool = False) -> str:
        flag = " --recursive" if recursive else ""
        return f"aws s3 cp --only-show-errors{flag} {shlex.quote(path)} {shlex.quote(local)}"

    def shell_upload(self, local: str, path: str, recursive: bool = False) -> str:
        flag = " --recursive" if recursive else ""
        return f"aws s3 cp --only-show-errors{flag} {shlex.quote(local)} {shlex.quote(path)}"


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


@contextlib.contextmanager
def explained(path: str) -> Iterator[None]:
    """Turn the S3 errors a user can fix (a missing bucket, refused access, no
    credentials) into a FileError that names the path and what to do."""
    try:
        yield
    except Exception as error:
        message = _explanation(path, error)
        if message is None:
            raise
        raise FileError(message) from None


def _explanation(path: str, error: BaseException) -> str | None:
    if type(error).__name__ == "NoCredentialsError":
        return (f"{path}: no AWS credentials found; set AWS_PROFILE to a profile "
                "(`aws configure` makes one), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    # boto3's transfers wrap the client error (S3UploadFailedError): look beneath.
    cause = error if isinstance(getattr(error, "response", None), dict) else error.__context__
    response = getattr(cause, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    if code == "NoSuchBucket":
        bucket = path[len("s3://"):].split("/", 1)[0]
        return f"{path}: the bucket {bucket} does not exist; create it or correct the path"
    if code in ("AccessDenied", "403", "AllAccessDisabled"):
        return (f"{path}: access denied; check the AWS credentials and the bucket's "
                "permissions")
    return None


def _s3_status(error: Exception) -> int | None:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = response.get("Error", {}).get("Code")
    if code in ("NoSuchKey", "NotFound", "NoSuchBucket"):
        return 404
    return status
