"""Polling AWS Batch for the jobs a Tracker holds: single jobs are described 100 a request,
an array's children are looked at only once its count of finished children moves, and then
only those not yet seen to end; each finished call is read back once and reported. AWS
errors that pass are retried with a backoff for a bounded time; past it, or on an error that
does not pass, every call still awaited fails with an error that says what AWS said and what
to do."""

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
from bridge.native.executors.job_tracking import SINGLE, Call, Job, Tracker, fail

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
        """Report the wanted children of an array that ended since the last poll. Nothing
        is asked while the array's count of finished children stays put; then the
        cheaper of two ways finds the new ones: list every finished child (``done``
        children, 1,000 a request), or list the children still in flight and describe the
        wanted ones that left that list (100 a request). Either way no child that ended
        at an earlier poll is described again."""
        summary = described.get("arrayProperties", {}).get("statusSummary", {})
        done = sum(summary.get(status, 0) for status in batch_api.FINISHED)
        ended = described["status"] in batch_api.FINISHED
        if done <= job.seen and not ended:
            return
        in_flight = {} if ended else {status: summary[status] for status in batch_api.IN_FLIGHT
                                      if summary.get(status)}
        per_describe = batch_api.LIST_PAGE // batch_api.DESCRIBE_CHUNK
        if done <= sum(in_flight.values()) + (done - job.seen) * per_describe:
            self._list_finished(job)
        else:
            self._describe_left(job, list(in_flight))
        job.seen = done

    def _list_finished(self, job: Job) -> None:
        batch = self.aws.client("batch")
        failed = []
        for status in batch_api.FINISHED:
            for child in batch_api.list_jobs(batch, arrayJobId=job.batch_id, jobStatus=status):
                index = batch_api.child_index(child["jobId"])
                if index not in job.pending:
                    continue
                if status == "SUCCEEDED":
                    self._finished(job, index, child)
                else:
                    failed.append(child["jobId"])
        self._report_ended(job, batch_api.describe(batch, failed))  # log stream and reason

    def _describe_left(self, job: Job, statuses: list[str]) -> None:
        """Describe the wanted children not yet seen to end that are in none of
        ``statuses`` (the in-flight ones the array's summary counts)."""
        batch = self.aws.client("batch")
        left = self.tracker.unfinished(job)
        for status in statuses:
            left.difference_update(
                batch_api.child_index(child["jobId"]) for child in
                batch_api.list_jobs(batch, arrayJobId=job.batch_id, jobStatus=status))
        ids = [f"{job.batch_id}:{index}" for index in sorted(left)]
        self._report_ended(job, batch_api.describe(batch, ids))

    def _report_ended(self, job: Job, children: list[dict]) -> None:
        for child in children:
            if child["status"] in batch_api.FINISHED:
                self._finished(job, batch_api.child_index(child["jobId"]), child)

    def _finished(self, job: Job, index: int, described: dict) -> None:
        call = self.tracker.finish(job, index)
        if call is not None:
            self.io.submit(self._report, call, described)

    def _report(self, call: Call, described: dict) -> None:
        outcome = collect(self.aws, call, described)
        for job_id in call.job_ids:
            self.report(replace(outcome, job_id=job_id))
