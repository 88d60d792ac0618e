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

The executor coordinates three parts that share a :class:`Tracker` of the calls awaited
and the jobs running them: :class:`Bursts` gathers the calls that arrive together,
:class:`Submitter` packages and submits them (one array job per task and options) or
re-attaches them to jobs an earlier run left in flight, and :class:`Poller` polls the
jobs and reports each call's outcome; if AWS keeps refusing, the calls awaited fail.
``stop()`` with jobs still in flight (Ctrl+C) terminates them.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bridge.native.executors import batch_api
from bridge.native.executors.aws_errors import RETRY_TIMEOUT, Patience
from bridge.native.executors.base import Executor, Report, Work
from bridge.native.executors.batch_aws import Aws
from bridge.native.executors.batch_burst import Bursts
from bridge.native.executors.batch_poll import Poller
from bridge.native.executors.batch_submit import Submitter
from bridge.native.executors.batch_tracking import Tracker, fail
from bridge.native.runner import Outcome

IO_THREADS = 16
INTERRUPTED = "bridge: the run that submitted this job was interrupted"


class AwsBatchExecutor(Executor):
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
        self._report: Report | None = None
        self._aws = Aws(options.get("region"), options.get("endpoint_url"))
        self._tracker = Tracker()
        self._stopping = threading.Event()
        self._bursts = Bursts(self._stopping)
        self._io = ThreadPoolExecutor(IO_THREADS, thread_name_prefix=f"bridge-{name}-io")
        self._submitter = Submitter(options, scratch, prefix, aws=self._aws,
                                    tracker=self._tracker, io=self._io, report=self._emit)
        patience = Patience(float(options.get("poll_interval", 5.0)),
                            float(options.get("aws_retry_timeout", RETRY_TIMEOUT)))
        self._poller = Poller(name, options["queue"], patience, aws=self._aws,
                              tracker=self._tracker, io=self._io, report=self._emit,
                              stopping=self._stopping)
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()

    def client(self, service: str) -> Any:
        """The executor's boto3 client for ``service`` (batch, logs or s3)."""
        return self._aws.client(service)

    def start(self, report: Report) -> None:
        self._report = report

    def submit(self, work: Work) -> None:
        if self.options.get("script_only") and not work.is_script:
            fail(self._emit, [work.job_id], ValueError(
                f"executor {self.name} is script-only (its image has no bridge), but task "
                f"{work.task.fullname} is not a script() call: give it another executor"))
            return
        self._bursts.put(work)
        with self._threads_lock:
            if not self._threads:
                for loop in (self._submit_loop, self._poller.run):
                    thread = threading.Thread(target=loop, daemon=True,
                                              name=f"bridge-{self.name}-{loop.__name__}")
                    self._threads.append(thread)
                    thread.start()

    def cancel_pending(self) -> list[str]:
        return self._bursts.withdraw()

    def stop(self) -> None:
        """Jobs still in flight when the scheduler closes were interrupted: terminate them."""
        self.cancel_pending()
        self._stopping.set()
        self._bursts.wake()
        with self._threads_lock:
            for thread in self._threads:
                thread.join()
            self._threads.clear()
        jobs, _ = self._tracker.abandon()
        doomed = [batch_id for job in jobs for batch_id in job.unfinished_ids()]
        if doomed:
            batch_api.terminate(self.client("batch"), doomed, INTERRUPTED)
        self._io.shutdown(wait=True, cancel_futures=True)

    def _submit_loop(self) -> None:
        while works := self._bursts.next():
            self._submitter.submit(works)

    def _emit(self, outcome: Outcome) -> None:
        assert self._report is not None
        self._report(outcome)
