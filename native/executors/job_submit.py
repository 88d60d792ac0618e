"""Submitting bursts of calls as jobs (AWS Batch, SLURM): each call gets a folder named by
its call hash under the scratch folder, calls that agree on their job's make-up become one
array job, and calls whose jobs an earlier run left in flight are re-attached instead of
submitted again. A subclass finds those jobs, says a call's make-up, and submits a group."""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

from bridge.native.executors.base import Report, Work
from bridge.native.executors.batch_api import chunks
from bridge.native.executors.job_tracking import SINGLE, Call, Tracker, fail
from bridge.native.executors.packaging import join

log = logging.getLogger("bridge.executors")


class JobSubmitter(ABC):
    """Submits calls under ``scratch``; the jobs go to ``tracker``, refused calls fail.
    ``service`` names the queue in logs; ``max_array`` caps an array job's size."""

    service = "the queue"
    max_array = 10_000

    def __init__(self, scratch: str, *, tracker: Tracker, report: Report) -> None:
        self.scratch = scratch
        self.tracker = tracker
        self.report = report
        self._adoptable: dict[str, tuple[str, int]] | None = None

    @abstractmethod
    def find_in_flight(self) -> dict[str, tuple[str, int]]:
        """Call hash -> (job id, array index) of the jobs an earlier run left in flight."""

    @abstractmethod
    def job_options(self, work: Work) -> dict[str, Any]:
        """The make-up of ``work``'s job (JSON-able): calls that agree on it share a job."""

    @abstractmethod
    def submit_group(self, options: dict[str, Any], calls: list[Call]) -> None:
        """Package ``calls`` and submit them as one job (an array when more than one)."""

    def submit(self, works: list[Work]) -> None:
        """Submit a burst of work. If the queue refuses, its calls fail and the run goes on."""
        calls = [call for work in works
                 if (call := self.tracker.add(work, join(self.scratch, "calls",
                                                         work.call_hash)))]
        try:
            self._launch(calls)
        except Exception as error:  # reported as the calls' error, so logged quietly
            log.info("submitting to %s failed", self.service, exc_info=True)
            refused = self.tracker.forget(calls)
            fail(self.report, [job_id for call in refused for job_id in call.job_ids], error)

    def _launch(self, calls: list[Call]) -> None:
        if self._adoptable is None:
            self._adoptable = self.find_in_flight()
        groups: dict[str, tuple[dict[str, Any], list[Call]]] = {}
        adopted_jobs: dict[str, dict[int, str]] = {}
        for call in calls:
            adopted = self._adoptable.pop(call.key, None)
            if adopted is not None:
                log.info("re-attached %s to %s job %s", call.work.task.fullname,
                         self.service, adopted[0])
                adopted_jobs.setdefault(adopted[0], {})[adopted[1]] = call.key
                continue
            try:
                options = self.job_options(call.work)
            except ValueError as error:  # a call's option the queue cannot take
                for refused in self.tracker.forget([call]):
                    fail(self.report, refused.job_ids, error)
                continue
            groups.setdefault(json.dumps(options, sort_keys=True), (options, []))[1].append(call)
        for job_id, adopted_calls in adopted_jobs.items():
            self.tracker.track(job_id, adopted_calls)
        for options, group in groups.values():
            for chunk in chunks(group, self.max_array):
                self.submit_group(options, chunk)


def calls_named(job_id: str, words: Iterable[str], scratch: str,
                read: Callable[[str], bytes | None]) -> dict[str, tuple[str, int]]:
    """Call hash -> (``job_id``, array index) of the calls whose folders (or whose array's
    manifest under ``scratch``) ``words`` name; ``read`` reads a manifest."""
    found: dict[str, tuple[str, int]] = {}
    calls_prefix = join(scratch, "calls", "")
    arrays_prefix = join(scratch, "arrays", "")
    for word in words:
        if word.startswith(arrays_prefix):
            manifest = json.loads(read(word) or b'{"calls": []}')
            for index, folder in enumerate(manifest["calls"]):
                found[folder.rsplit("/", 1)[1]] = (job_id, index)
        elif word.startswith(calls_prefix):
            found[word.rsplit("/", 1)[1]] = (job_id, SINGLE)
    return found
