"""The AWS Batch calls the aws_batch executor makes, batched so that thousands of jobs
cost tens of requests per poll: describe 100 jobs a request, list an array job's children
by status (1,000 a request) instead of describing each."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

IN_FLIGHT = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
FINISHED = ("SUCCEEDED", "FAILED")
LOG_GROUP = "/aws/batch/job"
DESCRIBE_CHUNK = 100
LIST_PAGE = 1000  # job summaries a ListJobs request by status returns at most
MAX_ARRAY_SIZE = 10_000


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def child_index(job_id: str) -> int:
    """The index of an array child from its id (``<array id>:<index>``)."""
    return int(job_id.rpartition(":")[2])


def job_name(prefix: str, task_name: str) -> str:
    """A valid Batch job name: letters, digits, - and _, at most 128 characters."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{prefix}-{task_name}")[:128]


def job_definition(batch: Any, prefix: str, image: str, role: str | None) -> str:
    """The ARN of an active job definition for this image and role, registering it the
    first time: its name carries a hash of what it holds, so it is found again later."""
    properties: dict[str, Any] = {
        "image": image,
        "command": ["bridge", "--version"],
        "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                 {"type": "MEMORY", "value": "1024"}],
    }
    if role:
        properties["jobRoleArn"] = role
    digest = hashlib.sha256(json.dumps(properties, sort_keys=True).encode()).hexdigest()
    name = job_name(prefix, f"jd-{digest[:16]}")
    found = batch.describe_job_definitions(jobDefinitionName=name, status="ACTIVE")
    revisions = sorted(found.get("jobDefinitions", []), key=lambda d: d["revision"])
    if revisions:
        return revisions[-1]["jobDefinitionArn"]
    registered = batch.register_job_definition(
        jobDefinitionName=name, type="container", containerProperties=properties)
    return registered["jobDefinitionArn"]


def describe(batch: Any, job_ids: list[str]) -> list[dict]:
    found = []
    for chunk in chunks(job_ids, DESCRIBE_CHUNK):
        found += batch.describe_jobs(jobs=chunk)["jobs"]
    return found


def list_jobs(batch: Any, **query: Any) -> list[dict]:
    """Every job summary matching ``query`` (a queue or an array, and a status)."""
    found: list[dict] = []
    token = None
    while True:
        page = batch.list_jobs(**query, **({"nextToken": token} if token else {}))
        found += page.get("jobSummaryList", [])
        token = page.get("nextToken")
        if not token:
            return found


def in_flight(batch: Any, queue: str, prefix: str) -> list[dict]:
    """Descriptions of the unfinished jobs (not array children) this prefix submitted."""
    ids = []
    for status in IN_FLIGHT:
        ids += [job["jobId"] for job in list_jobs(batch, jobQueue=queue, jobStatus=status)
                if job["jobName"].startswith(prefix + "-") and ":" not in job["jobId"]]
    return describe(batch, sorted(set(ids)))


def log_tail(logs: Any, job: dict, lines: int) -> tuple[str, str]:
    """(where, last lines) of a job's CloudWatch log; empty when it has none yet."""
    stream = job.get("container", {}).get("logStreamName")
    if not stream:
        return "", ""
    try:
        events = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream,
                                     limit=lines, startFromHead=False)["events"]
    except Exception:  # no log stream (the container never started)
        return "", ""
    where = f"the job's CloudWatch log ({LOG_GROUP} {stream})"
    return where, "\n".join(event["message"] for event in events)


def terminate(batch: Any, job_ids: list[str], reason: str) -> None:
    for job_id in job_ids:
        try:
            batch.terminate_job(jobId=job_id, reason=reason)
        except Exception:  # it finished meanwhile
            continue
