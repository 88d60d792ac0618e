"""Submission and polling overhead per job of the aws_batch executors: bridge's at 1,000 and
10,000 jobs, redun's (0.44, from .bench-venv) at 1,000, on the same moto server in one run.

Usage (from the repo root, after `bash bench/setup.sh`):

    .venv/bin/python bench/bench_batch.py [--jobs 1000 10000] [--redun-jobs [N ...]]
                                          [--poll 1.0] [--trickle SECONDS]

The parent starts one moto server on 127.0.0.1 in moto's no-container Batch mode (a job
is marked SUCCEEDED as soon as it is submitted, so what is timed is the engines' own work:
packaging each call into S3, submitting, polling, reading results back), and resets it
before each run. Each run, in a fresh child process and folder, fans out N calls of one
Batch task, each wrapped in catch(): no container runs, so no call writes its output and
every call ends in "output not found", which catch() turns into a value. The child times
`scheduler.run(...)` (wall and its process's CPU; bridge's child also the CPU of its main
thread, the engine, so the rest is the executor's threads, and counts the AWS requests
its executor makes); the parent's own CPU meanwhile is moto's (it serves in a thread).
redun at 10,000 takes very long: it runs at 1,000 unless --redun-jobs says otherwise (no
number leaves it out). --trickle holds an array's children RUNNING and ends them over that
many seconds, so that the pollers see children end over many ticks.

Target (issue 14): bridge's overhead per job at the largest --jobs is at most that at the
smallest, and its poller describes no finished array child more than once.

This file is stdlib-only apart from the parent's moto and boto3 (in .venv).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
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
        import json, os, sys, time
        from collections import Counter
        from bridge import Scheduler
        from bridge.loading import load_workflow

        def main_thread_cpu():
            \"\"\"CPU seconds of this process's main thread (Linux), where the engine runs.\"\"\"
            with open(f"/proc/self/task/{os.getpid()}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        requests = Counter()

        def count(model, params, **_):
            name = model.name
            if name == "ListJobs":
                whose = "array" if "arrayJobId" in params else "queue"
                requests[f"ListJobs {whose} {params.get('jobStatus', 'any')}"] += 1
            elif name == "DescribeJobs":
                children = sum(":" in job for job in params["jobs"])
                requests["DescribeJobs"] += 1
                requests["children described"] += children
                requests["ticks"] += children < len(params["jobs"])  # a tick asks for its jobs
            else:
                requests[name] += 1

        def listed(parsed, **_):
            for job in parsed.get("jobSummaryList", []):
                requests[f"children listed {job['status']}"] += ":" in job["jobId"]

        settings = dict(type="aws_batch", image="bench:latest", queue=sys.argv[1],
                        s3_scratch=sys.argv[2], job_name_prefix=sys.argv[3],
                        poll_interval=float(sys.argv[5]))
        workflow = load_workflow("workflow.py")
        with Scheduler(config={"executors": {"batch": settings}}) as scheduler:
            executor = scheduler.executor("batch", "bench")
            for service in ("batch", "s3", "logs"):
                executor.client(service).meta.events.register("before-parameter-build",
                                                               count)
            executor.client("batch").meta.events.register("after-call.batch.ListJobs", listed)
            started, cpu, engine = time.perf_counter(), time.process_time(), main_thread_cpu()
            result = scheduler.run(workflow.main(int(sys.argv[4])))
            print(json.dumps({"seconds": time.perf_counter() - started, "calls": len(result),
                              "cpu": time.process_time() - cpu,
                              "engine_cpu": main_thread_cpu() - engine,
                              "requests": requests}))
    """,
    "redun": """
        import json, sys, time
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
        started, cpu = time.perf_counter(), time.process_time()
        result = scheduler.run(workflow.main(int(sys.argv[4])))
        print(json.dumps({"seconds": time.perf_counter() - started, "calls": len(result),
                          "cpu": time.process_time() - cpu}))
    """,
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: bytes, content_type: str = "application/json") -> None:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type})
    urllib.request.urlopen(request).read()


def start_moto() -> tuple[object, str]:
    """A moto server on 127.0.0.1, serving in a thread of this process."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


class Trickle:
    """moto's no-container Batch ends an array's children as it is submitted; this holds
    them RUNNING instead and ends them one by one, in a shuffled order, evenly over
    ``seconds`` (as children of a real array end), so that the engines poll an array
    whose children end over many ticks."""

    def __init__(self, seconds: float) -> None:
        from moto.batch_simple.models import BatchSimpleBackend

        self.seconds = seconds
        self.lock = threading.Lock()
        self.arrays: list[list] = []  # [submitted, parent, children, how many ended]
        submit = BatchSimpleBackend.submit_job

        def submit_held(backend, *args, **kwargs):
            name, job_id, arn = submit(backend, *args, **kwargs)
            parent = backend.backend._jobs[job_id]
            children = list(parent._child_jobs or [])
            if children:
                for job in (parent, *children):
                    job.status = "RUNNING"
                random.Random(job_id).shuffle(children)
                with self.lock:
                    self.arrays.append([time.monotonic(), parent, children, 0])
            return name, job_id, arn

        BatchSimpleBackend.submit_job = submit_held
        threading.Thread(target=self._end_children, daemon=True).start()

    def _end_children(self) -> None:
        while True:
            time.sleep(0.05)
            with self.lock:
                for array in self.arrays:
                    submitted, parent, children, ended = array
                    share = min(1.0, (time.monotonic() - submitted) / self.seconds)
                    array[3] = round(share * len(children))
                    for job in children[ended:array[3]]:
                        job.status = "SUCCEEDED"
                    if share == 1.0:
                        parent.status = "SUCCEEDED"
                self.arrays = [array for array in self.arrays
                               if array[1].status != "SUCCEEDED"]


def fresh_queue(endpoint: str) -> tuple[str, str]:
    """Empties moto (so that no run pays for the jobs of the one before), puts its Batch in
    no-container mode, and makes a queue and a bucket."""
    import boto3

    _post(f"{endpoint}/moto-api/reset", b"")
    _post(f"{endpoint}/moto-api/config", json.dumps({"batch": {"use_docker": False}}).encode())
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


def run_engine(engine: str, endpoint: str, jobs: int, poll: float) -> dict:
    """One run of ``engine`` on a freshly emptied moto: its timings per job and requests."""
    queue, bucket = fresh_queue(endpoint)
    prefix = f"{engine}bench"
    with tempfile.TemporaryDirectory(prefix=f"bench-batch-{engine}-") as folder:
        Path(folder, "workflow.py").write_text(textwrap.dedent(WORKFLOWS[engine]))
        Path(folder, "child.py").write_text(textwrap.dedent(CHILD[engine]))
        command = [str(PYTHONS[engine]), "child.py", queue, f"s3://{bucket}/{engine}",
                   prefix, str(jobs), str(poll)]
        moto_cpu = time.process_time()
        result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
        moto_cpu = time.process_time() - moto_cpu
    row = {"engine": engine, "jobs": jobs, "load": os.getloadavg()[0]}
    if result.returncode != 0:
        return {**row, "error": "\n".join(result.stderr.strip().splitlines()[-12:])}
    found = json.loads(result.stdout.strip().splitlines()[-1])
    per_job = 1000 / found["calls"]
    row.update(found, submissions=submissions(queue, prefix), wall_ms=found["seconds"] * per_job,
               cpu_ms=found["cpu"] * per_job, moto_ms=moto_cpu * per_job)
    if "engine_cpu" in found:
        row["executor_ms"] = (found["cpu"] - found["engine_cpu"]) * per_job
    return row


def _ms(row: dict, key: str) -> str:
    return f"{row[key]:>9.2f}" if key in row else f"{'-':>9}"


def report(rows: list[dict], poll: float, trickle: float) -> None:
    ending = f"children ending over {trickle:g}s" if trickle else "jobs ending as submitted"
    print(f"aws_batch executors on moto (no containers, {ending}), poll every {poll:g}s; ms "
          "per job: wall, the engine's process CPU, of it its executor threads' CPU, moto's "
          "CPU")
    print(f"{'engine':8} {'calls':>6} {'subs':>5} {'run s':>8} {'wall':>9} {'cpu':>9} "
          f"{'executor':>9} {'moto':>9} {'load':>5}")
    for row in rows:
        if "error" in row:
            print(f"{row['engine']:8} {row['jobs']:>6} failed: {row['error']}")
            continue
        print(f"{row['engine']:8} {row['calls']:>6} {row['submissions']:>5} "
              f"{row['seconds']:>8.2f} {_ms(row, 'wall_ms')} {_ms(row, 'cpu_ms')} "
              f"{_ms(row, 'executor_ms')} {_ms(row, 'moto_ms')} {row['load']:>5.2f}")
    for row in rows:
        if "requests" in row:
            asked = ", ".join(f"{name} {count}" for name, count in sorted(row["requests"].items()))
            print(f"{row['engine']} {row['calls']} requests: {asked}")
    bridge = [row for row in rows if row["engine"] == "bridge" and "error" not in row]
    if len(bridge) >= 2:
        small, large = bridge[0], bridge[-1]
        for key, what in (("executor_ms", "executor CPU"), ("cpu_ms", "process CPU"),
                          ("wall_ms", "wall")):
            verdict = "PASS" if large[key] <= small[key] else "FAIL"
            print(f"bridge {what} per job at {large['calls']} <= at {small['calls']}: "
                  f"{large[key]:.2f} vs {small[key]:.2f} ms ({large[key] / small[key]:.2f}x) "
                  f"{verdict}")
        once = all(row["requests"].get("children described", 0) <= row["calls"]
                   for row in bridge)
        print(f"no finished array child described twice: {'PASS' if once else 'FAIL'}")
    redun = [row for row in rows if row["engine"] == "redun" and "error" not in row]
    for row in redun:
        same = [b for b in bridge if b["calls"] == row["calls"]]
        if same:
            print(f"redun / bridge wall per job at {row['calls']}: "
                  f"{row['wall_ms'] / same[0]['wall_ms']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1000, 10000],
                        help="bridge's run sizes (default 1000 10000)")
    parser.add_argument("--redun-jobs", type=int, nargs="*", default=[1000],
                        help="redun's run sizes (default 1000; none to leave redun out)")
    parser.add_argument("--poll", type=float, default=1.0, help="poll interval, both engines")
    parser.add_argument("--trickle", type=float, default=0.0, metavar="SECONDS",
                        help="end an array's children one by one over SECONDS, not at once")
    args = parser.parse_args()
    server, endpoint = start_moto()
    if args.trickle:
        Trickle(args.trickle)
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench",
                      AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                      AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    runs = [("bridge", n) for n in sorted(args.jobs)] + [
        ("redun", n) for n in sorted(n for n in args.redun_jobs if n > 0)]
    rows = []
    try:
        for engine, jobs in runs:
            if not PYTHONS[engine].exists():
                rows.append({"engine": engine, "jobs": jobs, "error": f"{PYTHONS[engine]} "
                             "missing (run bash bench/setup.sh)"})
                continue
            rows.append(run_engine(engine, endpoint, jobs, args.poll))
            print(f"{engine} {jobs}: done", file=sys.stderr, flush=True)
    finally:
        server.stop()
    report(rows, args.poll, args.trickle)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
