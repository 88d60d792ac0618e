"""What the executors that submit calls as jobs to a queue (AWS Batch, SLURM) share: calls
gathered into bursts (:class:`Bursts`) and handed to a submitter on one thread, a poller
on another, both sharing a :class:`Tracker`; ``stop()`` with jobs still in flight
(Ctrl+C) ends them. A subclass gives the submitter, the poll loop and how to end jobs."""

from __future__ import annotations

import threading
from abc import abstractmethod
from typing import Any, Protocol

from bridge.native.executors.base import Executor, Report, Work
from bridge.native.executors.job_bursts import Bursts
from bridge.native.executors.job_tracking import Job, Tracker, fail
from bridge.native.runner import Outcome


class Submits(Protocol):
    def submit(self, works: list[Work]) -> None: ...


class Polls(Protocol):
    def run(self) -> None:
        """Poll the tracked jobs and report their calls until the executor stops."""


class JobQueueExecutor(Executor):
    """A subclass sets ``submitter`` and ``poller`` (sharing ``_tracker``) in its
    ``__init__``. ``where`` says in errors what a script-only executor's jobs lack (e.g.
    "its image has no bridge")."""

    where = "its jobs have no bridge"
    submitter: Submits
    poller: Polls

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self._report: Report | None = None
        self._tracker = Tracker()
        self._stopping = threading.Event()
        self._bursts = Bursts(self._stopping)
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()

    @abstractmethod
    def end_jobs(self, jobs: list[Job]) -> None:
        """End ``jobs``, which a stopping run leaves in flight."""

    def start(self, report: Report) -> None:
        self._report = report

    def submit(self, work: Work) -> None:
        if self.options.get("script_only") and not work.is_script:
            fail(self._emit, [work.job_id], ValueError(
                f"executor {self.name} is script-only ({self.where}), but task "
                f"{work.task.fullname} is not a script() call: give it another executor"))
            return
        self._bursts.put(work)
        with self._threads_lock:
            if not self._threads:
                for loop, what in ((self._submit_loop, "submit"), (self.poller.run, "poll")):
                    thread = threading.Thread(target=loop, daemon=True,
                                              name=f"bridge-{self.name}-{what}")
                    self._threads.append(thread)
                    thread.start()

    def cancel_pending(self) -> list[str]:
        return self._bursts.withdraw()

    def stop(self) -> None:
        """Jobs still in flight when the scheduler closes were interrupted: end them."""
        self.cancel_pending()
        self._stopping.set()
        self._bursts.wake()
        with self._threads_lock:
            for thread in self._threads:
                thread.join()
            self._threads.clear()
        jobs, _ = self._tracker.abandon()
        if jobs:
            self.end_jobs(jobs)

    def _submit_loop(self) -> None:
        while works := self._bursts.next():
            self.submitter.submit(works)

    def _emit(self, outcome: Outcome) -> None:
        assert self._report is not None
        self._report(outcome)
