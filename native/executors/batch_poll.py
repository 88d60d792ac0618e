"""Polling AWS Batch for the jobs a Tracker holds: single jobs are described 100 a request,
each array's finished children are listed by status, and each finished call is read back
and reported. AWS errors that pass are retried with a backoff for a bounded time; past
it, or on an error that does not pass, every call still awaited fails with an error that
says what AWS said and what to do."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from bridge.native.executors import batch_api
from bridge.native.executors.aws_errors import Patience
from bridge.native.executors.base import Report
from bridge.native.executors.batch_aws import Aws
from bridge.native.executors.batch_outcome import collect
from bridge.native.executors.batch_tracking import SINGLE, Call, Job, Tracker, fail

log = logging.getLogger("bridge.aws_batch")


class Poller:
    """Polls every ``patience.interval`` seconds until ``stopping`` is set."""

    def __init__(self, name: str, queue: str, patience: Patience, *, aws: Aws,
                 tracker: Tracker, io: ThreadPoolExecutor, report: Report,
                 stopping: threading.Event) -> None:
        self.name = name
        self.queue = queue
        self.patience = patience
        self.aws = aws
        self.tracker = tracker
        self.io = io
        self.report = report
        self.stopping = stopping

    def run(self) -> None:
        delay = self.patience.interval
        while not self.stopping.wait(delay):
            try:
                self.poll_once()
            except Exception as error:
                retry = self.patience.failed(error)
                if retry is None:
                    self._give_up(error)
                else:
                    log.warning("polling AWS Batch failed, retrying in %.1f s: %s",
                                retry, error)
                delay = retry or self.patience.interval
            else:
                self.patience.succeeded()
                delay = self.patience.interval

    def _give_up(self, error: Exception) -> None:
        """Fail every call still awaited, with what AWS said and what to do."""
        _, calls = self.tracker.abandon()
        gave_up = self.patience.gave_up(error, self.name, self.queue)
        gave_up.__cause__ = error
        log.error("%s", gave_up)
        fail(self.report, [job_id for call in calls for job_id in call.job_ids], gave_up)

    def poll_once(self) -> None:
        batch = self.aws.client("batch")
        jobs = self.tracker.jobs()
        singles = [job_id for job_id, job in jobs.items() if not job.array]
        for described in batch_api.describe(batch, singles):
            if described["status"] in batch_api.FINISHED:
                self._finished(jobs[described["jobId"]], SINGLE, described)
        arrays = [job_id for job_id, job in jobs.items() if job.array]
        for described in batch_api.describe(batch, arrays):
            self._poll_array(jobs[described["jobId"]], described)

    def _poll_array(self, job: Job, described: dict) -> None:
        summary = described.get("arrayProperties", {}).get("statusSummary", {})
        done = sum(summary.get(status, 0) for status in batch_api.FINISHED)
        if done <= job.seen and described["status"] not in batch_api.FINISHED:
            return
        job.seen = done
        batch = self.aws.client("batch")
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

    def _finished(self, job: Job, index: int, described: dict) -> None:
        call = self.tracker.finish(job, index)
        if call is not None:
            self.io.submit(self._report, call, described)

    def _report(self, call: Call, described: dict) -> None:
        outcome = collect(self.aws, call, described)
        for job_id in call.job_ids:
            self.report(replace(outcome, job_id=job_id))
