"""A private Docker engine for the tests, and the images they run, built locally.

The engine is Debian's ``dockerd`` (docker.io), started here as root with no bridge
network and no iptables, on its own socket and data folder; the data folder persists
so images are built once per source version. No registry is reachable, so every image
comes from ``docker/make-base.sh`` (a root filesystem from the host's busybox, bash and
python3.11) and ``docker/build-worker.sh`` (the worker image recipe). Test modules pull
these fixtures in with ``from docker_engine import ...``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOCKET_DIR = Path("/tmp/bridge-engine")
DATA_ROOT = Path("/var/tmp/bridge-engine")
BASE_IMAGE = "bridge-base:py3.11"
START_TIMEOUT = 60


def _ping(host: str) -> bool:
    import docker

    try:
        client = docker.DockerClient(base_url=host, timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _start_dockerd(host: str, driver: str) -> subprocess.Popen | str:
    """Start dockerd; returns the process, or the log's tail when it did not come up."""
    SOCKET_DIR.mkdir(parents=True, exist_ok=True)
    DATA_ROOT.mkdir(parents=True, exist_ok=True)
    log = open(SOCKET_DIR / "dockerd.log", "wb")  # noqa: SIM115 (the daemon keeps it)
    process = subprocess.Popen(
        ["dockerd", "--host", host, "--data-root", str(DATA_ROOT / driver),
         "--exec-root", str(SOCKET_DIR / "exec"), "--pidfile", str(SOCKET_DIR / "docker.pid"),
         "--iptables=false", "--ip-masq=false", "--bridge=none",
         "--storage-driver", driver],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if _ping(host):
            return process
        time.sleep(0.5)
    _stop(process)
    lines = (SOCKET_DIR / "dockerd.log").read_text(errors="replace").splitlines()
    return "\n".join(lines[-5:])


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _stop_dockerd() -> None:
    """Stop the engine by the pid it recorded (another session may have started it)."""
    try:
        pid = int((SOCKET_DIR / "docker.pid").read_text())
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)


@contextlib.contextmanager
def _engine_lock() -> Iterator[None]:
    SOCKET_DIR.mkdir(parents=True, exist_ok=True)
    with open(SOCKET_DIR / "lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _other_users() -> list[int]:
    """Live test sessions (other than this one) that use the engine."""
    live = []
    for entry in (SOCKET_DIR / "users").glob("*"):
        pid = int(entry.name)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            entry.unlink(missing_ok=True)
            continue
        if pid != os.getpid():
            live.append(pid)
    return live


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[str]:
    """A running Docker engine; yields its DOCKER_HOST, also set in the environment (so
    the docker SDK, moto's Batch and the docker CLI all use it). Test sessions running at
    the same time share one engine; the last one to finish stops it."""
    pytest.importorskip("docker", reason="the docker SDK is not installed (dev extra)")
    if shutil.which("dockerd") is None:
        pytest.skip("dockerd is not installed (scripts/system-deps.sh installs docker.io)")
    if os.geteuid() != 0:
        pytest.skip("starting dockerd needs root")
    host = f"unix://{SOCKET_DIR}/docker.sock"
    with _engine_lock():
        if not _ping(host):
            failures = []
            for driver in ("overlay2", "vfs"):
                started = _start_dockerd(host, driver)
                if isinstance(started, subprocess.Popen):
                    break
                failures.append(f"{driver}: {started}")
            else:
                pytest.skip("dockerd did not start: " + " | ".join(failures))
        (SOCKET_DIR / "users").mkdir(exist_ok=True)
        (SOCKET_DIR / "users" / str(os.getpid())).touch()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DOCKER_HOST", host)
        try:
            yield host
        finally:
            with _engine_lock():
                (SOCKET_DIR / "users" / str(os.getpid())).unlink(missing_ok=True)
                if not _other_users():
                    _stop_dockerd()


def _image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag],
                          capture_output=True).returncode == 0


def _build(tag: str, command: list[str]) -> str:
    if not _image_exists(tag):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"building image {tag} failed:\n{result.stderr[-3000:]}")
    return tag


def _source_hash() -> str:
    """Identifies bridge's sources and the image recipe, so a changed checkout gets a
    fresh worker image and an unchanged one reuses it."""
    digest = hashlib.sha256()
    files = [ROOT / "pyproject.toml", *sorted((ROOT / "docker").iterdir())]
    for folder in ("bridge", "native", "adapters"):
        files += sorted((ROOT / folder).rglob("*.py"))
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def base_image(docker_engine: str) -> str:
    """busybox, bash and python3.11, and no bridge."""
    return _build(BASE_IMAGE, [str(ROOT / "docker/make-base.sh"), BASE_IMAGE])


@pytest.fixture(scope="session")
def worker_image(base_image: str) -> str:
    """The worker image (docker/Dockerfile): bridge with boto3 and the AWS CLI."""
    tag = f"bridge-worker:{_source_hash()}"
    return _build(tag, [str(ROOT / "docker/build-worker.sh"), "--base", base_image, tag])


@pytest.fixture(scope="session")
def script_image(base_image: str) -> str:
    """An image for script-only jobs: bash and the AWS CLI, no bridge."""
    tag = "bridge-scripts:awscli"
    return _build(tag, [str(ROOT / "docker/build-worker.sh"), "--base", base_image,
                        "--no-bridge", tag])


@pytest.fixture(scope="module")
def batch_queue(moto_server: str, docker_engine: str) -> Iterator[dict]:
    """A Batch queue on moto (an unmanaged compute environment) whose jobs run as real
    containers on the test Docker engine, in host network mode so they reach moto's S3
    and CloudWatch Logs; with a scratch bucket and a role. Yields client, queue, bucket
    and role."""
    import uuid

    import boto3

    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOTO_DOCKER_NETWORK_MODE", "host")
        role = boto3.client("iam").create_role(
            RoleName=f"batch-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        client = boto3.client("batch")
        name = f"queue-{uuid.uuid4().hex[:8]}"
        environment = client.create_compute_environment(
            computeEnvironmentName=name, type="UNMANAGED", state="ENABLED", serviceRole=role)
        client.create_job_queue(
            jobQueueName=name, state="ENABLED", priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment":
                                      environment["computeEnvironmentArn"]}])
        bucket = f"scratch-{uuid.uuid4().hex[:8]}"
        boto3.client("s3").create_bucket(Bucket=bucket)
        yield {"client": client, "queue": name, "bucket": bucket, "role": role}


def batch_jobs(queue: dict, name_prefix: str = "") -> list[dict]:
    """The jobs of a `batch_queue` whose names start with `name_prefix`, described (array
    children left out: an array job stands for them)."""
    client = queue["client"]
    ids = [job["jobId"] for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING",
                                       "RUNNING", "SUCCEEDED", "FAILED")
           for job in client.list_jobs(jobQueue=queue["queue"], jobStatus=status)
           ["jobSummaryList"]
           if job["jobName"].startswith(name_prefix) and ":" not in job["jobId"]]
    return [job for start in range(0, len(ids), 100)
            for job in client.describe_jobs(jobs=ids[start:start + 100])["jobs"]]
