"""Submission and polling overhead per job of the aws_batch executors: bridge's and redun's
(0.44, from .bench-venv), on the same moto server in the same run.

Usage (from the repo root, after `bash bench/setup.sh`):

    .venv/bin/python bench/bench_batch.py [--jobs 1000] [--poll 1.0]

The parent starts one moto server on 127.0.0.1 in moto's no-container Batch mode (a job
is marked SUCCEEDED as soon as it is submitted, so what is timed is the engines' own work:
packaging each call into S3, submitting, polling, reading results back). Each engine then
runs, in a fresh child process and folder, a workflow that fans out --jobs calls of one
Batch task, each wrapped in catch(): no container runs, so no call writes its output and
every call ends in "output not found", which catch() turns into a value. The child times
`scheduler.run(...)`; the parent counts the Batch submissions each engine made.

This file is stdlib-only apart from the parent's moto and boto3 (in .venv).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = {"bridge": ROOT / ".venv/bin/python", "redun": ROOT / ".bench-venv/bin/python"}

WORKFLOWS = {
    "bridge": """
        from bridge import task, catch

        @task(executor="batch")
        def leaf(i: int) -> int:
            return i

        def recover(error):
            return -1

        @task()
        def main(n: int) -> list:
            return [catch(leaf(i), Exception, recover) for i in range(n)]
    """,
    "redun": """
        from redun import task, catch

        redun_namespace = "bench_batch"

        @task(executor="batch")
        def leaf(i: int) -> int:
            return i

        @task()
        def recover(error):
            return -1

        @task()
        def main(n: int) -> list:
            return [catch(leaf(i), Exception, recover) for i in range(n)]
    """,
}

CHILD = {
    "bridge": """
        import sys, time
        from bridge import Scheduler
        from bridge.loading import load_workflow

        settings = dict(type="aws_batch", image="bench:latest", queue=sys.argv[1],
                        s3_scratch=sys.argv[2], job_name_prefix=sys.argv[3],
                        poll_interval=float(sys.argv[5]))
        workflow = load_workflow("workflow.py")
        with Scheduler(config={"executors": {"batch": settings}}) as scheduler:
            started = time.perf_counter()
            result = scheduler.run(workflow.main(int(sys.argv[4])))
            print(time.perf_counter() - started, len(result))
    """,
    "redun": """
        import sys, time
        sys.path.insert(0, ".")
        from redun import Scheduler
        from redun.config import Config
        import workflow

        config = Config({
            "backend": {"db_uri": "sqlite:///redun.db"},
            "executors.batch": {
                "type": "aws_batch", "image": "bench:latest", "queue": sys.argv[1],
                "s3_scratch": sys.argv[2], "job_name_prefix": sys.argv[3],
                "job_monitor_interval": sys.argv[5], "code_includes": "workflow.py",
            },
        })
        scheduler = Scheduler(config=config)
        scheduler.load()
        started = time.perf_counter()
        result = scheduler.run(workflow.main(int(sys.argv[4])))
        print(time.perf_counter() - started, len(result))
    """,
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto() -> tuple[object, str]:
    """A moto server in no-container Batch mode, with a queue and a bucket."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    request = urllib.request.Request(
        f"{endpoint}/moto-api/config", data=json.dumps({"batch": {"use_docker": False}}).encode(),
        method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
    return server, endpoint


def make_queue() -> tuple[str, str]:
    import boto3

    role = boto3.client("iam").create_role(
        RoleName="bench-batch", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    batch = boto3.client("batch")
    environment = batch.create_compute_environment(
        computeEnvironmentName="bench", type="UNMANAGED", state="ENABLED", serviceRole=role)
    batch.create_job_queue(jobQueueName="bench", state="ENABLED", priority=1,
                           computeEnvironmentOrder=[{"order": 1, "computeEnvironment":
                                                     environment["computeEnvironmentArn"]}])
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return "bench", bucket


def submissions(queue: str, prefix: str) -> int:
    """Batch jobs an engine submitted (an array job counts once)."""
    import boto3

    batch = boto3.client("batch")
    found = set()
    for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED",
                   "FAILED"):
        for job in batch.list_jobs(jobQueue=queue, jobStatus=status)["jobSummaryList"]:
            if job["jobName"].startswith(prefix) and ":" not in job["jobId"]:
                found.add(job["jobId"])
    return len(found)


def run_engine(engine: str, queue: str, bucket: str, jobs: int, poll: float) -> dict:
    prefix = f"{engine}bench"
    with tempfile.TemporaryDirectory(prefix=f"bench-batch-{engine}-") as folder:
        Path(folder, "workflow.py").write_text(textwrap.dedent(WORKFLOWS[engine]))
        Path(folder, "child.py").write_text(textwrap.dedent(CHILD[engine]))
        command = [str(PYTHONS[engine]), "child.py", queue, f"s3://{bucket}/{engine}",
                   prefix, str(jobs), str(poll)]
        result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    if result.returncode != 0:
        return {"engine": engine, "error": "\n".join(result.stderr.strip().splitlines()[-12:])}
    seconds, count = result.stdout.split()[-2:]
    return {"engine": engine, "calls": int(count), "seconds": float(seconds),
            "submissions": submissions(queue, prefix),
            "ms_per_job": 1000 * float(seconds) / int(count)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--poll", type=float, default=1.0, help="poll interval, both engines")
    args = parser.parse_args()
    server, endpoint = start_moto()
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench",
                      AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                      AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    try:
        queue, bucket = make_queue()
        rows = []
        for engine in PYTHONS:
            if not PYTHONS[engine].exists():
                rows.append({"engine": engine, "error": f"{PYTHONS[engine]} missing "
                             "(run bash bench/setup.sh)"})
                continue
            started = time.perf_counter()
            rows.append(run_engine(engine, queue, bucket, args.jobs, args.poll))
            rows[-1]["wall"] = round(time.perf_counter() - started, 2)
    finally:
        server.stop()
    print(f"aws_batch executors, {args.jobs} jobs on moto (no containers), "
          f"poll every {args.poll}s")
    print(f"{'engine':8} {'calls':>6} {'Batch submissions':>18} {'run s':>8} {'ms/job':>8}")
    for row in rows:
        if "error" in row:
            print(f"{row['engine']:8} failed: {row['error']}")
        else:
            print(f"{row['engine']:8} {row['calls']:>6} {row['submissions']:>18} "
                  f"{row['seconds']:>8.2f} {row['ms_per_job']:>8.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
