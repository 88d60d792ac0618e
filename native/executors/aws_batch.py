"""The aws_batch executor: each call runs as an AWS Batch job.

A call is packaged under the S3 scratch prefix, in a folder named by its call hash::

    <s3_scratch>/calls/<call hash>/input.pkl   (or script.sh)   written here
    <s3_scratch>/calls/<call hash>/output.pkl  (or stdout)      written by the job
    <s3_scratch>/code/<sha256>.tar.gz                            the workflow's *.py files
    <s3_scratch>/arrays/<uuid>.json                              an array job's call folders

Python calls run as ``bridge oneshot <folder>`` (``--array <manifest>`` for an array
child), so the image needs bridge. ``script()`` calls run a small bash bootstrap that
fetches the prepared script with the AWS CLI, so their image needs bash and the AWS CLI
but no bridge; with ``script_only = true`` the executor accepts nothing else.

Calls that arrive together, of one task with the same options, are submitted as one array
job. A poller describes single jobs 100 a request and lists each array's finished children
by status. A restarted run finds the jobs still in flight that carry its prefix and whose
call folders match the calls it is asked for, and waits for them instead of submitting
again. ``stop()`` with jobs still in flight (Ctrl+C) terminates them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.native.executors import batch_api
from bridge.native.executors.base import Executor, Report, Work
from bridge.native.executors.packaging import (
    INPUT,
    OUTPUT,
    RemoteError,
    code_archive,
    code_root,
    join,
    load_outcome,
    pack_call,
    with_log_tail,
)
from bridge.native.runner import Outcome

log = logging.getLogger("bridge.aws_batch")

SUBMIT_LINGER = 0.25  # seconds with no new call that end a burst of submissions
SUBMIT_GATHER_MAX = 2.0  # seconds a burst is gathered at most before it is submitted
LOG_TAIL_LINES = 40
IO_THREADS = 16
SINGLE = -1  # the index of the one call of a job that is not an array
INTERRUPTED = "bridge: the run that submitted this job was interrupted"

# Runs a script() call with no bridge in the image: $1 is the call's folder, or with
# $2 = array the array's manifest, from which this child picks its folder.
SCRIPT_BOOT = r"""
call="$1"
if [ "${2:-}" = array ]; then
    index="${AWS_BATCH_JOB_ARRAY_INDEX:-${AWS_BATCH_JOB_ID##*:}}"
    call="$(aws s3 cp --only-show-errors "$1" - | python3 -c \
        'import json, sys; print(json.load(sys.stdin)["calls"][int(sys.argv[1])])' "$index")"
fi
dir="$(mktemp -d)"
mkdir "$dir/work"
cd "$dir/work"
aws s3 cp --only-show-errors "$call/script.sh" "$dir/script.sh"
bash -euo pipefail "$dir/script.sh" > "$dir/stdout"
aws s3 cp --only-show-errors "$dir/stdout" "$call/stdout"
"""


@dataclass
class _Call:
    """A call this executor waits for; several Work items may wait on the same call."""

    key: str
    folder: str
    work: Work
    script: bool
    job_ids: list[str] = field(default_factory=list)


@dataclass
class _Job:
    """A Batch job being polled: a single job, or an array whose wanted children are
    the indices of ``calls``."""

    batch_id: str
    array: bool
    calls: dict[int, str] = field(default_factory=dict)
    finished: set[int] = field(default_factory=set)
    seen: int = 0  # finished children already listed


class AwsBatchExecutor(Executor):
    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        for key in ("image", "queue", "s3_scratch"):
            if not options.get(key):
                raise ValueError(f"executor {name}: the aws_batch executor needs {key} =")
        self.scratch = str(options["s3_scratch"]).rstrip("/")
        if not self.scratch.startswith("s3://"):
            raise ValueError(f"executor {name}: s3_scratch must be an s3:// prefix, "
                             f"not {self.scratch!r}")
        self.prefix = batch_api.job_name(options.get("job_name_prefix", "bridge"), "")[:-1]
        self.poll_interval = float(options.get("poll_interval", 5.0))
        self._report: Report | None = None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: list[Work] = []
        self._calls: dict[str, _Call] = {}
        self._jobs: dict[str, _Job] = {}
        self._adoptable: dict[str, tuple[str, int]] | None = None
        self._definitions: dict[tuple, str] = {}
        self._code: dict[str, str] = {}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._io = ThreadPoolExecutor(IO_THREADS, thread_name_prefix=f"bridge-{name}-io")
        self._clients: dict[str, Any] = {}

    # -- boto3 ----------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        with self._lock:
            if not self._clients:
                import boto3

                session = boto3.session.Session(region_name=self.options.get("region"))
                self._clients["session"] = session
                for kind in ("batch", "logs", "s3"):
                    self._clients[kind] = session.client(
                        kind, endpoint_url=self.options.get("endpoint_url"))
            return self._clients[service]

    def _read(self, url: str) -> bytes | None:
        bucket, _, key = url[len("s3://"):].partition("/")
        s3 = self.client("s3")
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None

    def _write(self, url: str, data: bytes) -> None:
        bucket, _, key = url[len("s3://"):].partition("/")
        self.client("s3").put_object(Bucket=bucket, Key=key, Body=data)

    # -- the Executor interface ---------------------------------------------------------------

    def start(self, report: Report) -> None:
        self._report = report

    def submit(self, work: Work) -> None:
        if self.options.get("script_only") and not work.is_script:
            self._fail([work.job_id], ValueError(
                f"executor {self.name} is script-only (its image has no bridge), but task "
                f"{work.task.fullname} is not a script() call: give it another executor"))
            return
        with self._wake:
            self._pending.append(work)
            self._wake.notify()
            if not self._threads:
                for loop in (self._submit_loop, self._poll_loop):
                    thread = threading.Thread(target=loop, daemon=True,
                                              name=f"bridge-{self.name}-{loop.__name__}")
                    self._threads.append(thread)
                    thread.start()

    def cancel_pending(self) -> list[str]:
        with self._wake:
            withdrawn = [work.job_id for work in self._pending]
            self._pending.clear()
        return withdrawn

    def stop(self) -> None:
        """Jobs still in flight when the scheduler closes were interrupted: terminate them."""
        self.cancel_pending()
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        with self._lock:
            jobs = list(self._jobs.values())
            self._jobs.clear()
        doomed = []
        for job in jobs:
            doomed.append(job.batch_id)
            if job.array:  # some stand-ins (moto) do not pass a parent's end to its children
                doomed += [f"{job.batch_id}:{i}" for i in job.calls if i not in job.finished]
        if doomed:
            batch_api.terminate(self.client("batch"), doomed, INTERRUPTED)
        self._io.shutdown(wait=True, cancel_futures=True)

    def _fail(self, job_ids: list[str], error: BaseException) -> None:
        assert self._report is not None
        for job_id in job_ids:
            self._report(Outcome(job_id, False, error=error, traceback=repr(error)))

    # -- submitting ---------------------------------------------------------------------------

    def _submit_loop(self) -> None:
        while not self._stopping.is_set():
            works = self._gather()
            if not works:
                return
            try:
                self._submit_works(works)
            except Exception as error:  # AWS refused: the calls fail, the run goes on
                log.exception("submitting to AWS Batch failed")
                self._fail([w.job_id for w in works], error)
                with self._lock:
                    for work in works:
                        self._calls.pop(work.call_hash, None)

    def _gather(self) -> list[Work]:
        """Wait for work, then for the burst it came in to end (no new call for
        SUBMIT_LINGER, or SUBMIT_GATHER_MAX in all), so that a fan-out submitted over
        several scheduler ticks, on a busy machine too, becomes one array job. Returns
        nothing when stopping."""
        with self._wake:
            while not self._pending and not self._stopping.is_set():
                self._wake.wait()
            deadline = time.monotonic() + SUBMIT_GATHER_MAX
            seen = -1
            while len(self._pending) != seen and not self._stopping.is_set():
                seen = len(self._pending)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._wake.wait(min(SUBMIT_LINGER, left))
            if self._stopping.is_set():
                return []
            works, self._pending = self._pending, []
        return works

    def _submit_works(self, works: list[Work]) -> None:
        if self._adoptable is None:
            self._adoptable = self._find_in_flight()
        groups: dict[str, list[_Call]] = defaultdict(list)
        for work in works:
            key = work.call_hash
            with self._lock:
                known = self._calls.get(key)
                if known is not None:
                    known.job_ids.append(work.job_id)
                    continue
                call = _Call(key, join(self.scratch, "calls", key), work,
                             work.is_script, [work.job_id])
                self._calls[key] = call
            adopted = self._adoptable.pop(key, None)
            if adopted is not None:
                log.info("re-attached %s to Batch job %s", work.task.fullname, adopted[0])
                self._track(adopted[0], adopted[1], key)
                continue
            options = self._job_options(work, call.script)
            groups[json.dumps(options, sort_keys=True)].append(call)
        for group in groups.values():
            for chunk in batch_api.chunks(group, batch_api.MAX_ARRAY_SIZE):
                self._submit_group(chunk)

    def _job_options(self, work: Work, script: bool) -> dict[str, Any]:
        """What a Batch job is made of: calls that agree on all of it share an array job."""
        merged = {**self.options, **work.options}
        return {
            "task": work.task.fullname, "script": script, "image": merged["image"],
            "queue": merged["queue"], "role": merged.get("job_role") or merged.get("role"),
            "vcpus": float(merged.get("vcpus", 1)), "memory": float(merged.get("memory", 4)),
            "gpus": int(merged.get("gpus", 0)), "timeout": merged.get("timeout"),
        }

    def _submit_group(self, calls: list[_Call]) -> None:
        options = self._job_options(calls[0].work, calls[0].script)
        list(self._io.map(self._package, calls))
        self._delete_outputs(calls)
        array = len(calls) > 1
        if array:
            target = join(self.scratch, "arrays", f"{uuid.uuid4().hex}.json")
            self._write(target, json.dumps({"calls": [c.folder for c in calls]}).encode())
        else:
            target = calls[0].folder
        if options["script"]:
            command = ["bash", "-euo", "pipefail", "-c", SCRIPT_BOOT, "bridge-job", target,
                       *(["array"] if array else [])]
        else:
            command = ["bridge", "oneshot", *(["--array"] if array else []), target]
        request: dict[str, Any] = {
            "jobName": batch_api.job_name(self.prefix, options["task"]),
            "jobQueue": options["queue"],
            "jobDefinition": self._definition(options["image"], options["role"]),
            "containerOverrides": {"command": command, "environment": self._environment(),
                                   "resourceRequirements": _resources(options)},
            "retryStrategy": {"attempts": int(self.options.get("retries", 1)),
                              "evaluateOnExit": [{"onExitCode": "1", "action": "EXIT"},
                                                 {"onReason": "*", "action": "RETRY"}]},
            "propagateTags": True,
        }
        if self.options.get("tags"):
            request["tags"] = dict(self.options["tags"])
        if options["timeout"]:
            request["timeout"] = {"attemptDurationSeconds": max(60, int(options["timeout"]))}
        if array:
            request["arrayProperties"] = {"size": len(calls)}
        batch_id = self.client("batch").submit_job(**request)["jobId"]
        for index, call in enumerate(calls):
            self._track(batch_id, index if array else SINGLE, call.key)

    def _package(self, call: _Call) -> None:
        if call.script:
            from bridge.native.script import prepare_script

            self._write(join(call.folder, "script.sh"),
                        prepare_script(**call.work.kwargs).encode())
        else:
            code = self._code_url(call.work.task)
            self._write(join(call.folder, INPUT), pack_call(call.work, code))

    def _delete_outputs(self, calls: list[_Call]) -> None:
        """Outputs of an earlier run of the same call must not pass for this run's."""
        bucket, _, prefix = self.scratch[len("s3://"):].partition("/")
        keys = [{"Key": f"{prefix}/calls/{c.key}/{name}".lstrip("/")}
                for c in calls for name in (OUTPUT, "stdout")]
        for chunk in batch_api.chunks(keys, 1000):
            self.client("s3").delete_objects(Bucket=bucket, Delete={"Objects": chunk,
                                                                   "Quiet": True})

    def _code_url(self, task: Any) -> str | None:
        """The workflow's code as an archive under the scratch prefix, uploaded once."""
        root = code_root(task)
        if root is None:
            return None
        with self._lock:
            if root in self._code:
                return self._code[root]
        digest, data = code_archive(root)
        url = join(self.scratch, "code", f"{digest}.tar.gz")
        bucket, _, key = url[len("s3://"):].partition("/")
        try:
            self.client("s3").head_object(Bucket=bucket, Key=key)
        except Exception:
            self._write(url, data)
        with self._lock:
            self._code[root] = url
        return url

    def _definition(self, image: str, role: str | None) -> str:
        with self._lock:
            arn = self._definitions.get((image, role))
        if arn is None:
            arn = batch_api.job_definition(self.client("batch"), self.prefix, image, role)
            with self._lock:
                self._definitions[(image, role)] = arn
        return arn

    def _environment(self) -> list[dict[str, str]]:
        """The job's AWS settings. Against a stand-in endpoint (moto) the job gets its
        address and this client's credentials; on AWS the job role gives credentials."""
        self.client("batch")
        session = self._clients["session"]
        env = {}
        endpoint = self.options.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            env["AWS_ENDPOINT_URL"] = endpoint
            credentials = session.get_credentials()
            if credentials is not None:
                frozen = credentials.get_frozen_credentials()
                env["AWS_ACCESS_KEY_ID"] = frozen.access_key
                env["AWS_SECRET_ACCESS_KEY"] = frozen.secret_key
                if frozen.token:
                    env["AWS_SESSION_TOKEN"] = frozen.token
        if session.region_name:
            env["AWS_DEFAULT_REGION"] = session.region_name
        return [{"name": name, "value": value} for name, value in sorted(env.items())]

    # -- re-attaching -------------------------------------------------------------------------

    def _find_in_flight(self) -> dict[str, tuple[str, int]]:
        """Call hash -> (Batch job, array index) of the unfinished jobs of an earlier run."""
        found: dict[str, tuple[str, int]] = {}
        calls_prefix, arrays_prefix = join(self.scratch, "calls", ""), join(self.scratch,
                                                                          "arrays", "")
        jobs = batch_api.in_flight(self.client("batch"), self.options["queue"], self.prefix)
        for job in jobs:
            for arg in job.get("container", {}).get("command", []):
                if arg.startswith(arrays_prefix):
                    manifest = json.loads(self._read(arg) or b'{"calls": []}')
                    for index, folder in enumerate(manifest["calls"]):
                        found[folder.rsplit("/", 1)[1]] = (job["jobId"], index)
                elif arg.startswith(calls_prefix):
                    found[arg.rsplit("/", 1)[1]] = (job["jobId"], SINGLE)
        return found

    def _track(self, batch_id: str, index: int, key: str) -> None:
        with self._lock:
            job = self._jobs.setdefault(batch_id, _Job(batch_id, array=index != SINGLE))
            job.calls[index] = key

    # -- polling ------------------------------------------------------------------------------

    def _poll_loop(self) -> None:
        while not self._stopping.wait(self.poll_interval):
            try:
                self._poll_once()
            except Exception:  # a network hiccup: try again next round
                log.exception("polling AWS Batch failed")

    def _poll_once(self) -> None:
        batch = self.client("batch")
        with self._lock:
            jobs = {job.batch_id: job for job in self._jobs.values()}
        singles = [job_id for job_id, job in jobs.items() if not job.array]
        for described in batch_api.describe(batch, singles):
            if described["status"] in batch_api.FINISHED:
                self._finished(jobs[described["jobId"]], SINGLE, described)
        arrays = [job_id for job_id, job in jobs.items() if job.array]
        for described in batch_api.describe(batch, arrays):
            self._poll_array(jobs[described["jobId"]], described)

    def _poll_array(self, job: _Job, described: dict) -> None:
        summary = described.get("arrayProperties", {}).get("statusSummary", {})
        done = sum(summary.get(status, 0) for status in batch_api.FINISHED)
        if done <= job.seen and described["status"] not in batch_api.FINISHED:
            return
        job.seen = done
        batch = self.client("batch")
        failed = []
        for status in batch_api.FINISHED:
            for child in batch_api.list_jobs(batch, arrayJobId=job.batch_id, jobStatus=status):
                index = int(child["jobId"].rpartition(":")[2])
                if index not in job.calls or index in job.finished:
                    continue
                if status == "SUCCEEDED":
                    self._finished(job, index, child)
                else:
                    failed.append(child["jobId"])
        for child in batch_api.describe(batch, failed):  # for the log stream and reason
            self._finished(job, int(child["jobId"].rpartition(":")[2]), child)

    def _finished(self, job: _Job, index: int, described: dict) -> None:
        with self._lock:
            job.finished.add(index)
            if len(job.finished) == len(job.calls):
                self._jobs.pop(job.batch_id, None)
            call = self._calls.pop(job.calls[index], None)
        if call is not None:
            self._io.submit(self._collect, call, described)

    def _collect(self, call: _Call, described: dict) -> None:
        assert self._report is not None
        try:
            outcome = self._outcome(call, described)
        except Exception as error:
            outcome = Outcome(call.job_ids[0], False, error=error, traceback=repr(error))
        for job_id in call.job_ids:
            self._report(replace(outcome, job_id=job_id))

    def _outcome(self, call: _Call, described: dict) -> Outcome:
        job_id, batch_id = call.job_ids[0], described["jobId"]
        succeeded = described["status"] == "SUCCEEDED"
        reason = described.get("statusReason") or "no reason given"
        exit_code = described.get("container", {}).get("exitCode")
        if call.script:
            from bridge.native.script import ScriptError, finish_script

            stdout = self._read(join(call.folder, "stdout")) if succeeded else None
            if stdout is not None:
                value = finish_script(call.work.kwargs["outputs"], stdout.decode())
                return Outcome(job_id, True, value=value)
            outcome = Outcome(job_id, False, error=ScriptError(
                f"script of {call.work.task.fullname} failed in Batch job {batch_id} "
                f"(exit code {exit_code}): {reason}", exit_code))
        else:
            data = self._read(join(call.folder, OUTPUT))
            if data is not None:
                outcome = load_outcome(data, job_id)
            else:
                outcome = Outcome(job_id, False, error=RemoteError(
                    f"Batch job {batch_id} of {call.work.task.fullname} "
                    f"{'succeeded' if succeeded else 'failed'} without writing its output "
                    f"(exit code {exit_code}): {reason}"))
        if not outcome.ok:
            where, tail = batch_api.log_tail(self.client("logs"), described, LOG_TAIL_LINES)
            with_log_tail(outcome, where, tail)
        return outcome


def _resources(options: dict[str, Any]) -> list[dict[str, str]]:
    vcpus = options["vcpus"]
    resources = [
        {"type": "VCPU", "value": str(int(vcpus)) if vcpus == int(vcpus) else str(vcpus)},
        {"type": "MEMORY", "value": str(int(options["memory"] * 1024))},
    ]
    if options["gpus"]:
        resources.append({"type": "GPU", "value": str(options["gpus"])})
    return resources
