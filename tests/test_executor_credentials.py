"""The caller's AWS credentials reach a job only when its executor opts in
(``pass_aws_credentials = true``): real containers on the test Docker engine, and Batch
jobs on a moto server whose containers run on that engine."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest

from bridge import Scheduler
from bridge.loading import load_workflow
from bridge.native.runner import RemoteError
from docker_engine import (  # noqa: F401 (fixtures)
    base_image,
    batch_jobs,
    batch_queue,
    docker_engine,
    worker_image,
)

WORKFLOW = textwrap.dedent(
    """
    import os
    from bridge import task

    bridge_namespace = "credential_tests"

    @task(executor="docker")
    def aws_settings_in_docker() -> dict:
        return {name: name in os.environ for name in
                ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION")}

    @task(executor="batch")
    def on_batch(x: int) -> int:
        return x + 1
    """
)

SECRET = "caller-secret-do-not-leak"


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("credential_workflow")
    (folder / "credential_workflow.py").write_text(WORKFLOW)
    return load_workflow(str(folder / "credential_workflow.py"))


@pytest.mark.parametrize("opt_in", [False, True], ids=["default", "pass_aws_credentials"])
def test_docker_containers_get_the_callers_aws_keys_only_on_opt_in(
        workflow, workdir: Path, worker_image: str, opt_in: bool,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "caller-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    executor = {"type": "docker", "image": worker_image}
    if opt_in:
        executor["pass_aws_credentials"] = True
    with Scheduler(config={"executors": {"docker": executor}}) as scheduler:
        seen = scheduler.run(workflow.aws_settings_in_docker())
    assert seen == {"AWS_SECRET_ACCESS_KEY": opt_in, "AWS_ACCESS_KEY_ID": opt_in,
                    "AWS_DEFAULT_REGION": True}  # the region is a setting, not a secret


def test_batch_jobs_get_the_callers_aws_keys_only_on_opt_in(
        workflow, workdir: Path, batch_queue: dict, worker_image: str) -> None:  # noqa: F811
    """Read back from Batch itself (describe_jobs): what each submitted job's container
    was given. Without the opt-in a moto job has no credentials at all (moto has no
    job roles), so it cannot read its input and fails; with it, it runs."""
    import boto3

    secret = boto3.session.Session().get_credentials().get_frozen_credentials().secret_key
    prefix = f"t{uuid.uuid4().hex[:8]}"
    executor = {"type": "aws_batch", "image": worker_image, "queue": batch_queue["queue"],
                "s3_scratch": f"s3://{batch_queue['bucket']}/{prefix}",
                "job_name_prefix": prefix, "poll_interval": 0.5}

    def environment(job: dict) -> dict[str, str]:
        return {e["name"]: e["value"] for e in job["container"]["environment"]}

    with Scheduler(config={"executors": {"batch": executor}}) as scheduler, \
            pytest.raises(RemoteError, match="without writing its output") as raised:
        scheduler.run(workflow.on_batch(1))
    assert "credentials" in "\n".join(raised.value.__notes__)  # the job's log says why
    [job] = batch_jobs(batch_queue, prefix)
    assert "AWS_SECRET_ACCESS_KEY" not in environment(job)
    assert secret not in str(job)
    assert environment(job)["AWS_ENDPOINT_URL"]  # the stand-in's address still goes in

    executor["pass_aws_credentials"] = True
    with Scheduler(config={"executors": {"batch": executor}}) as scheduler:
        assert scheduler.run(workflow.on_batch(2)) == 3
    [opted_in] = [other for other in batch_jobs(batch_queue, prefix)
                  if other["jobId"] != job["jobId"]]
    assert environment(opted_in)["AWS_SECRET_ACCESS_KEY"] == secret
