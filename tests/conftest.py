"""Shared fixtures: a fresh working directory per test, and a real PostgreSQL server;
and, where CI asks for it, a skip counted as a failure."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.native.settings import SchedulerSettings
from pg_cluster import PostgresMissing, free_port, postgres_cluster
from slurm_cluster import SlurmCluster, SlurmMissing, slurm_cluster

# A test of a part that cannot start here skips with the reason. CI sets this, because
# its machine installs and starts every part: there a skip means a part failed to start.
REQUIRE_ALL = "BRIDGE_TESTS_REQUIRE_ALL"

# Workflows (and their own test suites) that tests copy and run as a user would.
collect_ignore = ["redun_style"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get(REQUIRE_ALL) == "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, but {REQUIRE_ALL}=1 wants every test to run: {reason}"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test in an empty folder, so `.bridge/` defaults land there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BRIDGE_CONFIG", raising=False)
    monkeypatch.delenv("BRIDGE_DB_URI", raising=False)
    return tmp_path


@pytest.fixture
def scheduler(workdir: Path) -> Iterator:
    from bridge import Scheduler

    with Scheduler() as sched:
        yield sched


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """A private PostgreSQL cluster on a free loopback port (initdb + pg_ctl)."""
    try:
        with postgres_cluster() as uri:
            yield uri
    except PostgresMissing as missing:
        pytest.skip(str(missing))


@pytest.fixture(scope="session")
def slurm() -> Iterator[SlurmCluster]:
    """A private single-node SLURM cluster (munged, slurmctld, slurmd) for the session;
    SLURM_CONF points every client command (sbatch, squeue, ...) of this process and of
    the processes it starts at it."""
    try:
        with slurm_cluster() as cluster, pytest.MonkeyPatch.context() as env:
            env.setenv("SLURM_CONF", str(cluster.conf))
            yield cluster
    except SlurmMissing as missing:
        pytest.skip(str(missing))


@pytest.fixture
def settings(workdir: Path) -> SchedulerSettings:
    return SchedulerSettings(config_dir=str(workdir / ".bridge"))


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A real moto server (S3, Batch, Logs, IAM, ...) on 127.0.0.1 and a free port. Yields
    its endpoint URL and points every boto3 client (and the AWS CLI) at it through the
    AWS_* environment variables, with fake credentials and no user config files."""
    pytest.importorskip("moto.server", reason="moto[server] is not installed (dev extra)")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
            env.delenv(name, raising=False)
        env.setenv("AWS_ENDPOINT_URL", endpoint)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_CONFIG_FILE", os.devnull)
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        try:
            yield endpoint
        finally:
            server.stop()


@pytest.fixture
def s3_bucket(moto_server: str) -> str:
    """A fresh, empty bucket on the moto server; yields its name."""
    import uuid

    import boto3

    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def relative_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `bridge run workflow.py main` ran the whole pipeline once, its
    outputs under results/ (relative), so a copy of the folder (``shutil.copytree`` keeps
    mtimes) is a copy of the run: each scenario that edits a run gets its own copy."""
    from cli_helpers import BRIDGE
    from test_read_alignment import EXAMPLE, LOCAL_CONFIG

    root = tmp_path_factory.mktemp("read_alignment_relative")
    (root / ".bridge").mkdir()
    (root / ".bridge" / "bridge.ini").write_text(LOCAL_CONFIG)
    done = subprocess.run([BRIDGE, "run", str(EXAMPLE / "workflow.py"), "main"], cwd=root,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return root
