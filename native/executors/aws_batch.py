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

The executor (a :class:`JobQueueExecutor`) coordinates three parts that share a
:class:`Tracker` of the calls awaited and the jobs running them: :class:`Bursts` gathers the
calls that arrive together, :class:`Submitter` packages and submits them (one array job per
task and options) or re-attaches them to jobs an earlier run left in flight, and
:class:`Poller` polls the jobs and reports each call's outcome; if AWS keeps refusing,
the calls awaited fail.
``stop()`` with jobs still in flight (Ctrl+C) terminates them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bridge.native.executors import batch_api
from bridge.native.executors.aws_errors import RETRY_TIMEOUT, Patience
from bridge.native.executors.batch_aws import Aws
from bridge.native.executors.batch_poll import Poller
from bridge.native.executors.batch_submit import Submitter
from bridge.native.executors.job_queue import JobQueueExecutor
from bridge.native.executors.job_tracking import Job

IO_THREADS = 16
INTERRUPTED = "bridge: the run that submitted this job was interrupted"


class AwsBatchExecutor(JobQueueExecutor):
    where = "its image has no bridge"

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        for key in ("image", "queue", "s3_scratch"):
            if not options.get(key):
                raise ValueError(f"executor {name}: the aws_batch executor needs {key} =")
        scratch = str(options["s3_scratch"]).rstrip("/")
        if not scratch.startswith("s3://"):
            raise ValueError(f"executor {name}: s3_scratch must be an s3:// prefix, "
                             f"not {scratch!r}")
        prefix = batch_api.job_name(options.get("job_name_prefix", "bridge"), "")[:-1]
        self._aws = Aws(options.get("region"), options.get("endpoint_url"))
        self._io = ThreadPoolExecutor(IO_THREADS, thread_name_prefix=f"bridge-{name}-io")
        self.submitter = Submitter(options, scratch, prefix, aws=self._aws,
                                    tracker=self._tracker, io=self._io, report=self._emit)
        patience = Patience(float(options.get("poll_interval", 5.0)),
                            float(options.get("aws_retry_timeout", RETRY_TIMEOUT)))
        self.poller = Poller(name, options["queue"], patience, aws=self._aws,
                              tracker=self._tracker, io=self._io, report=self._emit,
                              stopping=self._stopping)

    def client(self, service: str) -> Any:
        """The executor's boto3 client for ``service`` (batch, logs or s3)."""
        return self._aws.client(service)

    def end_jobs(self, jobs: list[Job]) -> None:
        doomed = [batch_id for job in jobs for batch_id in job.unfinished_ids()]
        batch_api.terminate(self.client("batch"), doomed, INTERRUPTED)

    def stop(self) -> None:
        super().stop()
        self._io.shutdown(wait=True, cancel_futures=True)
