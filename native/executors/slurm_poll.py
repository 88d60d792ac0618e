"""Polling SLURM for the jobs a Tracker holds: one ``squeue`` a tick for all of them (array
children included), each finished call read back once and reported. When squeue keeps
failing for ``GIVE_UP_AFTER`` seconds, every call still awaited fails with what it said."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from bridge.native.executors import slurm_commands
from bridge.native.executors.base import Report
from bridge.native.executors.job_tracking import Job, Tracker, fail
from bridge.native.executors.slurm_commands import JobState, SlurmError
from bridge.native.executors.slurm_outcome import collect
from bridge.native.executors.slurm_submit import log_file

log = logging.getLogger("bridge.slurm")
GIVE_UP_AFTER = 300.0  # seconds of failing squeue before the calls awaited fail
# Reasons a pending job keeps until someone acts (releases it, fixes its request).
STUCK = frozenset({"JobHeldUser", "JobHeldAdmin", "BadConstraints", "PartitionConfig",
                   "PartitionTimeLimit", "PartitionNodeLimit", "PartitionDown",
                   "InvalidAccount", "InvalidQOS", "DependencyNeverSatisfied"})


@dataclass
class Poller:
    """Polls every ``interval`` seconds until ``stopping`` is set."""

    name: str
    scratch: str
    interval: float
    tracker: Tracker
    report: Report
    stopping: threading.Event
    _failing_since: float | None = field(default=None, init=False)
    _stuck: set[str] = field(default_factory=set, init=False)  # jobs warned about

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.poll_once()
            except SlurmError as error:
                now = time.monotonic()
                self._failing_since = self._failing_since or now
                if now - self._failing_since < GIVE_UP_AFTER:
                    log.warning("polling SLURM failed, retrying: %s", error)
                else:
                    self._give_up(error)
            else:
                self._failing_since = None

    def poll_once(self) -> None:
        jobs = self.tracker.jobs()
        if not jobs:
            return
        seen = {(state.job_id, state.index): state
                for state in slurm_commands.states(jobs)}
        for job in jobs.values():
            for index in self.tracker.unfinished(job):
                state = seen.get((job.batch_id, index))
                if state is None:  # the controller has forgotten it: it ended long ago
                    state = JobState(job.batch_id, index, "", "", None, None)
                if state.state == "" or state.finished:
                    self._finished(job, index, state)
                elif state.reason in STUCK and job.batch_id not in self._stuck:
                    self._stuck.add(job.batch_id)
                    log.warning("SLURM job %s of executor %s is pending (%s), which it does "
                                "not leave by itself: release it, or stop the run (Ctrl+C "
                                "cancels its jobs) and change the task's options",
                                job.batch_id, self.name, state.reason)

    def _finished(self, job: Job, index: int, state: JobState) -> None:
        call = self.tracker.finish(job, index)
        if call is None:
            return
        log_path = log_file(self.scratch, job.batch_id, index)
        outcome = collect(call, state, log_path)
        if outcome.ok:  # what is read back is in the store; a failure's files stay to look at
            shutil.rmtree(call.folder, ignore_errors=True)
            Path(log_path).unlink(missing_ok=True)
        for job_id in call.job_ids:
            self.report(replace(outcome, job_id=job_id))

    def _give_up(self, error: SlurmError) -> None:
        _, calls = self.tracker.abandon()
        gave_up = SlurmError(
            f"executor {self.name} lost track of its SLURM jobs: {error}. Check that the "
            "SLURM controller answers (squeue); then run again: jobs still in flight are "
            "re-attached, not submitted again.")
        log.error("%s", gave_up)
        fail(self.report, [job_id for call in calls for job_id in call.job_ids], gave_up)
