"""The aws_batch executor against a real moto server on 127.0.0.1 whose Batch runs each
job's container on the Docker engine that docker_engine.py starts (moto's network mode
host, so the containers reach moto's S3 and Logs). Nothing is mocked."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bridge import File, Scheduler
from bridge.loading import load_workflow
from bridge.native.executors.aws_batch import INTERRUPTED
from docker_engine import (  # noqa: F401
    base_image,
    batch_jobs,
    batch_queue,
    docker_engine,
    script_image,
    worker_image,
)

WORKFLOW = textwrap.dedent(
    """
    import time
    from bridge import task, script, File

    bridge_namespace = "batch_tests"

    @task(executor="batch")
    def square(x: int) -> int:
        return x * x

    @task()
    def fan_out(n: int) -> list:
        return [square(i) for i in range(n)]

    @task(executor="batch")
    def fails(message: str) -> None:
        print("checking the reference index", flush=True)
        raise ValueError(message)

    @task(executor="batch")
    def slow(x: int, seconds: float) -> int:
        time.sleep(seconds)
        return x + 100

    @task()
    def slow_fan(n: int, seconds: float) -> list:
        return [slow(i, seconds) for i in range(n)]

    @task(executor="batch")
    def check_lane(lane: int) -> int:
        print(f"checking lane {lane}", flush=True)
        if lane == 2:
            raise ValueError(f"lane {lane} is truncated")
        return lane

    @task()
    def check_lanes(n: int) -> list:
        return [check_lane(i) for i in range(n)]

    @task()
    def shout(text: File, out: str) -> dict:
        return script(
            "tr a-z A-Z < in.txt > out.txt; echo shouted with $BRIDGE_CPUS cpus, "
            "$BRIDGE_MEMORY_GB GiB",
            executor="scripts", inputs=[text.stage("in.txt")],
            outputs={"out": File(out).stage("out.txt"), "stdout": File("-")},
        )
    """
)

SLOW = 10.0  # seconds a slow call takes: long enough to catch it in flight

RUNNER = textwrap.dedent(
    """
    import sys
    from bridge import Scheduler
    from bridge.loading import load_workflow

    workflow = load_workflow(sys.argv[1])
    with Scheduler() as scheduler:
        print(scheduler.run(workflow.slow_fan(int(sys.argv[2]), float(sys.argv[3]))))
    """
)


@pytest.fixture(scope="module")
def batch(batch_queue: dict, worker_image: str) -> dict:  # noqa: F811
    """The Batch queue, once the worker image its Python jobs run in is built."""
    return batch_queue


@pytest.fixture
def prefix() -> str:
    """Each test submits under its own job name prefix, to count its own jobs."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def config(batch: dict, worker_image: str, script_image: str, prefix: str) -> dict:  # noqa: F811
    scratch = f"s3://{batch['bucket']}/{prefix}"
    common = {"type": "aws_batch", "queue": batch["queue"], "s3_scratch": scratch,
              "job_name_prefix": prefix, "poll_interval": 0.5,
              "pass_aws_credentials": True}  # moto has no job roles to give them
    return {"executors": {
        "batch": {**common, "image": worker_image, "tags": {"project": "bridge-tests"}},
        "scripts": {**common, "image": script_image, "script_only": True},
    }}


@pytest.fixture(scope="module")
def workflow_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("batch_workflow")
    path = folder / "batch_workflow.py"
    path.write_text(WORKFLOW)
    (folder / "runner.py").write_text(RUNNER)
    return path


@pytest.fixture
def workflow(workflow_path: Path):
    return load_workflow(str(workflow_path))


def run(config: dict, expr):
    with Scheduler(config=config) as scheduler:
        return scheduler.run(expr)


def jobs(batch: dict, prefix: str) -> list[dict]:
    """This test's jobs (array children left out), described."""
    return batch_jobs(batch, prefix + "-")


def test_a_fan_out_runs_as_one_array_job_and_replays_from_the_cache(
        workflow, config, batch, prefix, workdir):
    assert run(config, workflow.fan_out(20)) == [i * i for i in range(20)]
    submitted = jobs(batch, prefix)
    assert len(submitted) == 1, [(j["jobName"], j.get("arrayProperties")) for j in submitted]
    assert submitted[0]["arrayProperties"]["size"] == 20
    assert submitted[0]["tags"] == {"project": "bridge-tests"}

    assert run(config, workflow.fan_out(20)) == [i * i for i in range(20)]
    assert len(jobs(batch, prefix)) == 1  # the second run submitted nothing


def test_each_call_is_packaged_under_the_scratch_prefix(workflow, config, batch, prefix,
                                                      workdir):
    assert run(config, workflow.fan_out(3)) == [0, 1, 4]
    import boto3

    listed = boto3.client("s3").list_objects_v2(Bucket=batch["bucket"], Prefix=prefix + "/")
    keys = [item["Key"].split("/", 1)[1] for item in listed.get("Contents", [])]
    calls = [key for key in keys if key.startswith("calls/")]
    assert sorted(key.rsplit("/", 1)[1] for key in calls) == ["input.pkl"] * 3 + ["output.pkl"] * 3
    assert len({key.split("/")[1] for key in calls}) == 3  # a folder per call hash
    assert len([key for key in keys if key.startswith("code/")]) == 1  # the code, once
    assert len([key for key in keys if key.startswith("arrays/")]) == 1  # the array's list


def test_a_failing_array_child_fails_its_call_with_its_log_tail(workflow, config, workdir):
    with pytest.raises(ValueError, match="lane 2 is truncated") as raised:
        run(config, workflow.check_lanes(3))
    notes = "\n".join(raised.value.__notes__)
    assert "CloudWatch log" in notes and "checking lane 2" in notes
    assert "checking lane 1" not in notes  # the failing child's own log


def test_config_keys_reach_the_job_and_the_definition_is_reused(workflow, config, batch, workdir):
    """role, vcpus, memory, gpus, timeout and retries as AWS Batch receives them. moto keeps
    a job's resources and retry strategy to itself, so the submit requests are read off
    the executor's boto3 client as they leave (observed, not mocked)."""
    options = {**config["executors"]["batch"], "role": batch["role"], "vcpus": 2,
               "memory": 0.5, "gpus": 1, "timeout": 120, "retries": 3}
    submitted: list[dict] = []

    def record(params: dict, **_) -> None:
        submitted.append(params)

    def run_recorded(expr):
        with Scheduler(config={"executors": {"batch": options}}) as scheduler:
            client = scheduler.executor("batch", "test").client("batch")
            client.meta.events.register("before-parameter-build.batch.SubmitJob", record)
            return scheduler.run(expr)

    assert run_recorded(workflow.square(7)) == 49
    assert run_recorded(workflow.square.options(memory=1, vcpus=1)(8)) == 64  # a later run
    first, second = submitted
    assert first["containerOverrides"]["resourceRequirements"] == [
        {"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "512"},
        {"type": "GPU", "value": "1"}]
    assert second["containerOverrides"]["resourceRequirements"][:2] == [  # task options win
        {"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "1024"}]
    assert first["retryStrategy"]["attempts"] == 3
    assert first["timeout"] == {"attemptDurationSeconds": 120}
    # one job definition, registered by the first run and found again by the second
    assert first["jobDefinition"] == second["jobDefinition"]
    client = batch["client"]
    definition = client.describe_job_definitions(
        jobDefinitions=[first["jobDefinition"]])["jobDefinitions"][0]
    assert definition["containerProperties"]["jobRoleArn"] == batch["role"]
    assert definition["containerProperties"]["image"] == options["image"]
    revisions = client.describe_job_definitions(
        jobDefinitionName=definition["jobDefinitionName"])["jobDefinitions"]
    assert len(revisions) == 1


def test_a_failing_job_fails_its_call_with_the_log_tail(workflow, config, workdir):
    with pytest.raises(ValueError, match="index is stale") as raised:
        run(config, workflow.fails("index is stale"))
    notes = "\n".join(raised.value.__notes__)
    assert "CloudWatch log" in notes
    assert "checking the reference index" in notes


def test_a_script_runs_in_an_image_without_bridge(workflow, config, batch, prefix, workdir,
                                                  script_image):  # noqa: F811
    no_bridge = subprocess.run(["docker", "run", "--rm", script_image, "python3", "-c",
                                "import bridge"], capture_output=True)
    assert no_bridge.returncode != 0
    source = File(f"s3://{batch['bucket']}/inputs/{uuid.uuid4().hex}.txt")
    with source.open("w") as handle:
        handle.write("quiet words\n")
    out = f"s3://{batch['bucket']}/outputs/{uuid.uuid4().hex}.txt"
    result = run(config, workflow.shout(source, out))
    assert result["stdout"] == "shouted with 1 cpus, 4 GiB\n"  # the section's defaults
    assert result["out"].read().strip() == "QUIET WORDS"
    [job] = jobs(batch, prefix)  # it ran as a Batch job, in the script image
    definition = batch["client"].describe_job_definitions(
        jobDefinitions=[job["jobDefinition"]])["jobDefinitions"][0]
    assert definition["containerProperties"]["image"] == script_image


def test_a_script_only_executor_refuses_python_tasks(workflow, config, workdir):
    with pytest.raises(ValueError, match="script-only"):
        run(config, workflow.square.options(executor="scripts")(3))


def _start_runner(workflow_path: Path, config: dict, folder: Path, n: int,
                  **settings: object) -> subprocess.Popen:
    """A separate run of slow_fan, as a user would start it, with its own bridge.ini
    (the batch executor's section, with ``settings`` on top)."""
    executor = {**config["executors"]["batch"], **settings}
    lines = ["[executors.batch]"] + [
        f"{key} = {value}" for key, value in executor.items() if key != "tags"]
    (folder / ".bridge").mkdir(exist_ok=True)
    (folder / ".bridge/bridge.ini").write_text("\n".join(lines) + "\n")
    return subprocess.Popen([sys.executable, str(workflow_path.parent / "runner.py"),
                             str(workflow_path), str(n), str(SLOW)], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_running(batch: dict, prefix: str, runner: subprocess.Popen, n: int
                        ) -> tuple[str, list[str]]:
    """Waits until the run's job is running: one job for one call, else an array job with
    all its children running. Returns the job's id and the ids of the running jobs."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = jobs(batch, prefix)
        if found:
            job_id = found[0]["jobId"]
            running = [job_id] if n == 1 else [f"{job_id}:{i}" for i in range(n)]
            described = batch["client"].describe_jobs(jobs=running)["jobs"]
            if len(described) == n and all(c["status"] == "RUNNING" for c in described):
                return job_id, running
        if runner.poll() is not None:
            pytest.fail(f"the run ended early:\n{runner.communicate()}")
        time.sleep(0.3)
    pytest.fail("the jobs never started")


@pytest.mark.parametrize("width", [1, 2], ids=["single job", "array job"])
def test_a_restarted_run_reattaches_to_jobs_in_flight(
        workflow_path, workflow, config, batch, prefix, workdir, width):
    runner = _start_runner(workflow_path, config, workdir, width)
    job_id, _ = _wait_until_running(batch, prefix, runner, width)
    runner.kill()  # a crash: nothing terminates the jobs
    runner.wait()
    restarted = Scheduler(config={**config, "config_dir": str(workdir / ".bridge")})
    with restarted:
        assert restarted.run(workflow.slow_fan(width, SLOW)) == [100 + i for i in range(width)]
    assert [job["jobId"] for job in jobs(batch, prefix)] == [job_id]  # nothing resubmitted


@pytest.mark.parametrize("width", [1, 2], ids=["single job", "array job"])
def test_ctrl_c_terminates_the_submitted_jobs(workflow_path, config, batch, prefix, workdir,
                                              width):
    runner = _start_runner(workflow_path, config, workdir, width)
    _, running = _wait_until_running(batch, prefix, runner, width)
    runner.send_signal(signal.SIGINT)
    assert runner.wait(60) != 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described = batch["client"].describe_jobs(jobs=running)["jobs"]
        if all(job["status"] == "FAILED" for job in described):
            break
        time.sleep(0.5)
    assert {job.get("statusReason") for job in described} == {INTERRUPTED}
    assert os.environ.get("AWS_ENDPOINT_URL")  # the jobs ran against moto, not AWS


def _fails_within(runner: subprocess.Popen, seconds: float) -> str:
    """The run's stderr, once it has failed; fails the test if it runs on."""
    try:
        _, stderr = runner.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        runner.kill()
        runner.communicate()
        pytest.fail(f"the run was still waiting after {seconds} s")
    assert runner.returncode != 0, stderr
    return stderr


@contextmanager
def _moto_rejecting_credentials(endpoint: str) -> Iterator[None]:
    """moto checks credentials against its IAM meanwhile (its /moto-api/reset-auth), where
    the tests' made-up keys do not exist: AWS answers so for revoked or expired keys."""

    def authenticate_after(requests: str) -> None:
        urllib.request.urlopen(urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth", data=requests.encode(), method="POST",
            headers={"Content-Type": "text/plain"})).read()

    authenticate_after("0")
    try:
        yield
    finally:
        authenticate_after("inf")


def test_credentials_rejected_mid_run_fail_the_run_naming_the_error(
        workflow_path, config, batch, prefix, workdir, moto_server):
    """AWS starts refusing the run's credentials while its job runs: the run fails at
    once, with what AWS said, the queue, and what to do, instead of polling forever."""
    runner = _start_runner(workflow_path, config, workdir, 1)
    job_id, _ = _wait_until_running(batch, prefix, runner, 1)
    with _moto_rejecting_credentials(moto_server):
        stderr = _fails_within(runner, 60)
    batch["client"].terminate_job(jobId=job_id, reason="the test is over")
    assert "InvalidClientTokenId" in stderr
    assert f"queue {batch['queue']}" in stderr
    assert "Check the credentials" in stderr and "run again" in stderr


def test_aws_unreachable_past_the_retry_timeout_fails_the_run(
        workflow_path, config, batch, prefix, workdir):
    """The run talks to AWS through an endpoint that goes away mid-run (a second moto
    server on the same backends, then stopped): connection errors are retried for
    aws_retry_timeout seconds, then the run fails saying so."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    doomed = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    doomed.start()
    try:
        runner = _start_runner(workflow_path, config, workdir, 1, aws_retry_timeout=3,
                               endpoint_url=f"http://127.0.0.1:{port}")
        job_id, _ = _wait_until_running(batch, prefix, runner, 1)
    finally:
        doomed.stop()
    stderr = _fails_within(runner, 90)
    batch["client"].terminate_job(jobId=job_id, reason="the test is over")
    assert "EndpointConnectionError" in stderr
    assert f"queue {batch['queue']}" in stderr and "aws_retry_timeout" in stderr
