"""The aws_batch executor's boto3 clients (Batch, Logs, S3), made once and shared by its
threads, and the few S3 calls it makes on ``s3://`` URLs."""

from __future__ import annotations

import os
import threading
from typing import Any

from bridge.native.executors.batch_api import chunks

SERVICES = ("batch", "logs", "s3")


def split(url: str) -> tuple[str, str]:
    """(bucket, key) of an ``s3://`` URL."""
    bucket, _, key = url[len("s3://"):].partition("/")
    return bucket, key


class Aws:
    """One boto3 session for a region and an endpoint (a stand-in such as moto, or AWS)."""

    def __init__(self, region: str | None, endpoint_url: str | None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self._lock = threading.Lock()
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        with self._lock:
            if self._session is None:
                import boto3

                self._session = boto3.session.Session(region_name=self.region)
                for kind in SERVICES:
                    self._clients[kind] = self._session.client(
                        kind, endpoint_url=self.endpoint_url)
            return self._clients[service]

    def read(self, url: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""
        bucket, key = split(url)
        s3 = self.client("s3")
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None

    def write(self, url: str, data: bytes) -> None:
        bucket, key = split(url)
        self.client("s3").put_object(Bucket=bucket, Key=key, Body=data)

    def write_once(self, url: str, data: bytes) -> None:
        """Write unless the object is there already (its name says what it holds)."""
        bucket, key = split(url)
        try:
            self.client("s3").head_object(Bucket=bucket, Key=key)
        except Exception:
            self.write(url, data)

    def delete(self, urls: list[str]) -> None:
        """Delete the objects of one bucket, missing ones included."""
        if not urls:
            return
        bucket = split(urls[0])[0]
        keys = [{"Key": split(url)[1]} for url in urls]
        for chunk in chunks(keys, 1000):
            self.client("s3").delete_objects(Bucket=bucket, Delete={"Objects": chunk,
                                                                   "Quiet": True})

    def job_environment(self, pass_credentials: bool) -> list[dict[str, str]]:
        """The job's AWS settings: the endpoint (a stand-in such as moto) and the region.
        Credentials come from the job role; this client's own go in only when the
        executor opts in (``pass_aws_credentials = true``), as a stand-in needs."""
        self.client("batch")
        env = {}
        endpoint = self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            env["AWS_ENDPOINT_URL"] = endpoint
        credentials = self._session.get_credentials() if pass_credentials else None
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            env["AWS_ACCESS_KEY_ID"] = frozen.access_key
            env["AWS_SECRET_ACCESS_KEY"] = frozen.secret_key
            if frozen.token:
                env["AWS_SESSION_TOKEN"] = frozen.token
        if self._session.region_name:
            env["AWS_DEFAULT_REGION"] = self._session.region_name
        return [{"name": name, "value": value} for name, value in sorted(env.items())]
