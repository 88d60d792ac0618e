"""The read-alignment example with its shell steps in containers, switched by bridge.ini
alone: on the docker executor (a real Docker engine), and on the aws_batch executor
(moto's Batch, which runs the jobs as real containers) with inputs and outputs under
s3:// on moto. The tools image is built from the host's Debian packages (no registry)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import pytest

docker_engine_module = pytest.importorskip(
    "docker_engine", reason="the Docker test engine (tests/docker_engine.py) is not available")
from docker_engine import (  # noqa: E402, F401
    base_image,
    batch_jobs,
    batch_queue,
    docker_engine,
    script_image,
)
from test_read_alignment import (  # noqa: E402
    EXAMPLE,
    flagstat,
    job_statuses,
    missing_tools,
    picard_metrics,
    run_main,
)

# Each test runs the whole pipeline twice, some twenty steps in their own containers, each
# staging its inputs and outputs with the AWS CLI. On a 2-core machine the Batch test took
# 281 s beside a light load and 484 s at a load average of 9 (four test sessions beside
# it), nearly all in the first run: the suite's 300 s default (pyproject.toml) is for tests
# that are not inherently long.
PIPELINE_TIMEOUT = 1200
pytestmark = [
    pytest.mark.skipif(
        bool(missing_tools()),
        reason=f"{', '.join(missing_tools())} not installed (scripts/system-deps.sh installs them)",
    ),
    pytest.mark.timeout(PIPELINE_TIMEOUT),
]
BUILD = EXAMPLE / "docker" / "build-image.sh"


@pytest.fixture(scope="session")
def tools_image(script_image: str) -> str:  # noqa: F811 (a fixture)
    """The example's tools image on the script-only base; rebuilt when its recipe or the
    host's tool packages change."""
    versions = subprocess.run(
        ["dpkg-query", "-W", "bwa", "samtools", "cutadapt", "picard-tools", "r-base-core"],
        capture_output=True, text=True).stdout
    digest = hashlib.sha256(BUILD.read_bytes() + versions.encode() + script_image.encode())
    tag = f"bridge-read-alignment:{digest.hexdigest()[:12]}"
    exists = subprocess.run(["docker", "image", "inspect", tag], capture_output=True)
    if exists.returncode != 0:
        built = subprocess.run([str(BUILD), "--base", script_image, tag],
                               capture_output=True, text=True)
        if built.returncode != 0:
            pytest.fail(f"building {tag} failed:\n{built.stderr[-3000:]}")
    return tag


def check_alignment(bam: str, dup_metrics: str, truth: dict) -> None:
    """The essentials of the science: every pair aligned, the planted duplicates found."""
    counts = flagstat(bam)
    assert counts["primary"] == 2 * truth["read_pairs"]
    assert counts["primary mapped"] >= 0.99 * counts["primary"]
    found = int(picard_metrics(dup_metrics)[0]["READ_PAIR_DUPLICATES"])
    assert abs(found - truth["duplicate_pairs"]) <= max(3, 0.02 * truth["duplicate_pairs"])


def script_calls(root: Path, execution_id: str) -> int:
    """How many script() steps the execution ran (rather than replayed)."""
    return job_statuses(root, execution_id, task="bridge.script")["DONE"]


def containers_started(image: str, since: float, until: float) -> int:
    """Container starts from `image` that the Docker engine reports in a time window."""
    import docker

    client = docker.from_env()
    events = client.events(since=int(since), until=int(until) + 1, decode=True,
                           filters={"type": "container", "event": "start", "image": image})
    count = sum(1 for _ in events)
    client.close()
    return count


def batch_calls_submitted(batch: dict) -> int:
    """Calls submitted to the test queue: one per job, or an array job's size."""
    return sum(job.get("arrayProperties", {}).get("size", 1) for job in batch_jobs(batch))


def test_pipeline_on_the_docker_executor(tools_image: str, tmp_path: Path) -> None:
    config = f"[executors.tools]\ntype = docker\nimage = {tools_image}\n"
    out = tmp_path / "results"
    started = time.time()
    result, execution = run_main(tmp_path, config, output_path=str(out))
    # every shell step ran in a container of the tools image (the host has the tools too)
    assert containers_started(tools_image, started, time.time()) == script_calls(
        tmp_path, execution) > 10
    truth = json.loads((out / "data" / "truth.json").read_text())
    for sample, sample_truth in truth["samples"].items():
        check_alignment(result[sample]["bam"].path, result[sample]["dup_metrics"].path,
                        sample_truth)
    statuses = job_statuses(tmp_path, execution)
    assert statuses["DONE"] > 20 and set(statuses) == {"DONE"}
    _, again = run_main(tmp_path, config, output_path=str(out))
    assert set(job_statuses(tmp_path, again)) == {"CACHED"}


def test_pipeline_on_aws_batch_with_data_on_s3(batch_queue: dict, tools_image: str,  # noqa: F811
                                               tmp_path: Path) -> None:
    import boto3

    bucket = batch_queue["bucket"]
    config = (f"[executors.tools]\ntype = aws_batch\nimage = {tools_image}\n"
              f"queue = {batch_queue['queue']}\ns3_scratch = s3://{bucket}/scratch\n"
              "script_only = true\npoll_interval = 0.5\n"
              "pass_aws_credentials = true\n")  # moto has no job roles to give them
    out = f"s3://{bucket}/run1"
    result, execution = run_main(tmp_path, config, output_path=out)
    assert batch_calls_submitted(batch_queue) == script_calls(tmp_path, execution) > 10
    s3 = boto3.client("s3")
    truth = json.loads(s3.get_object(Bucket=bucket, Key="run1/data/truth.json")["Body"].read())
    for sample, sample_truth in truth["samples"].items():
        local = {}
        for key in ("bam", "bai", "dup_metrics"):
            uri = result[sample][key].path
            assert uri.startswith(f"{out}/{sample}/")
            local[key] = str(tmp_path / uri.rsplit("/", 1)[1])
            s3.download_file(bucket, uri.split("/", 3)[3], local[key])
        check_alignment(local["bam"], local["dup_metrics"], sample_truth)
    assert set(job_statuses(tmp_path, execution)) == {"DONE"}
    _, again = run_main(tmp_path, config, output_path=out)
    assert set(job_statuses(tmp_path, again)) == {"CACHED"}
    assert batch_calls_submitted(batch_queue) == script_calls(tmp_path, execution)
