"""The aws_batch executor's poller against a real moto server in its no-container mode (a job
ends as soon as it is submitted). moto serves from this process, so the test holds some of
an array's children back as RUNNING and lets them end between polls, as on AWS."""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bridge import task
from bridge.native.executors.aws_errors import Patience
from bridge.native.executors.base import Work
from bridge.native.executors.batch_aws import Aws
from bridge.native.executors.batch_poll import Poller
from bridge.native.executors.job_tracking import Tracker
from bridge.native.runner import Outcome

SIZE = 30


# A namespace of its own: the task registry is the test session's, and workflows that other
# tests load in this process define a `leaf` of their own.
@task(namespace="batch_poll_tests")
def leaf(i: int) -> int:
    return i


def _moto_config(endpoint: str, use_docker: bool) -> None:
    urllib.request.urlopen(urllib.request.Request(
        f"{endpoint}/moto-api/config", method="POST",
        data=json.dumps({"batch": {"use_docker": use_docker}}).encode(),
        headers={"Content-Type": "application/json"})).read()


@pytest.fixture
def array_job(moto_server: str) -> Iterator[str]:
    """An array job of SIZE children on a fresh queue, submitted in no-container mode."""
    import boto3

    _moto_config(moto_server, use_docker=False)
    try:
        name = f"poll-{uuid.uuid4().hex[:8]}"
        role = boto3.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}")
        batch = boto3.client("batch")
        environment = batch.create_compute_environment(
            computeEnvironmentName=name, type="UNMANAGED", state="ENABLED",
            serviceRole=role["Role"]["Arn"])
        batch.create_job_queue(jobQueueName=name, state="ENABLED", priority=1,
                               computeEnvironmentOrder=[{"order": 1, "computeEnvironment":
                                                         environment["computeEnvironmentArn"]}])
        definition = batch.register_job_definition(
            jobDefinitionName=name, type="container",
            containerProperties={"image": "none", "command": ["true"], "vcpus": 1,
                                 "memory": 512})["jobDefinitionArn"]
        yield batch.submit_job(jobName=name, jobQueue=name, jobDefinition=definition,
                               arrayProperties={"size": SIZE})["jobId"]
    finally:
        _moto_config(moto_server, use_docker=True)


def _set_status(job_id: str, status: str) -> None:
    """Moves a job of moto's Batch (in this process) to ``status``."""
    from moto.batch.models import batch_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    batch_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]._jobs[job_id].status = status


class Requests:
    """The Batch requests a client makes, read off it as they leave."""

    def __init__(self, client) -> None:
        self.made: list[tuple[str, dict]] = []
        client.meta.events.register("before-parameter-build.batch", self._record)

    def _record(self, model, params: dict, **_) -> None:
        self.made.append((model.name, dict(params)))

    def take(self) -> tuple[list[str], list[str]]:
        """(children described, statuses listed) since the last take."""
        made, self.made = self.made, []
        described = [job for name, params in made if name == "DescribeJobs"
                     for job in params["jobs"] if ":" in job]
        listed = [params["jobStatus"] for name, params in made if name == "ListJobs"]
        return described, listed


def test_a_poll_looks_only_at_children_not_yet_seen_to_end(array_job, s3_bucket):
    """Children that ended at an earlier poll are neither listed nor described again: a
    poll lists the children still running and describes those that just ended, each once;
    every call is reported once, naming its Batch job."""
    held = range(SIZE - 4, SIZE)  # still running at the first look
    _set_status(array_job, "RUNNING")
    for index in held:
        _set_status(f"{array_job}:{index}", "RUNNING")
    tracker = Tracker()
    for index in range(SIZE):
        work = Work(f"job{index}", leaf, (index,), {}, {}, f"call{index}", False)
        tracker.add(work, f"s3://{s3_bucket}/calls/call{index}")
    tracker.track(array_job, {index: f"call{index}" for index in range(SIZE)})
    outcomes: list[Outcome] = []
    io = ThreadPoolExecutor(4)
    aws = Aws("us-east-1", None)
    poller = Poller("batch", "queue", Patience(1.0, 10.0), aws=aws, tracker=tracker, io=io,
                    report=outcomes.append, stopping=threading.Event())
    requests = Requests(aws.client("batch"))
    child = [f"{array_job}:{index}" for index in range(SIZE)]

    poller.poll_once()  # the first look: the finished children are listed, none described
    assert requests.take() == ([], ["SUCCEEDED", "FAILED"])

    _set_status(child[held[0]], "SUCCEEDED")
    _set_status(child[held[1]], "FAILED")
    poller.poll_once()  # two more ended: the running ones are listed, the two described
    assert requests.take() == ([child[held[0]], child[held[1]]], ["RUNNING"])

    poller.poll_once()  # nothing ended since: only the array itself is described
    assert requests.take() == ([], [])

    _set_status(child[held[2]], "SUCCEEDED")
    _set_status(child[held[3]], "SUCCEEDED")
    _set_status(array_job, "SUCCEEDED")
    poller.poll_once()  # the array ended: its last two children are described
    assert requests.take() == ([child[held[2]], child[held[3]]], [])
    assert tracker.jobs() == {}

    io.shutdown(wait=True)
    assert sorted(outcome.job_id for outcome in outcomes) == sorted(
        f"job{index}" for index in range(SIZE))
    errors = {outcome.job_id: str(outcome.error) for outcome in outcomes}
    assert errors[f"job{held[1]}"].startswith(
        f"Batch job {child[held[1]]} of {leaf.fullname} failed")
    assert errors[f"job{held[0]}"].startswith(
        f"Batch job {child[held[0]]} of {leaf.fullname} succeeded")
