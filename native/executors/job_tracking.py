"""What a job-queue executor (AWS Batch, SLURM) waits for: the calls, and the jobs that
run them.

The submitter adds calls and tracks the jobs it submits (or re-attaches to); the poller
finishes them. Both go through a :class:`Tracker`, which holds the one lock."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from bridge.native.executors.base import Report, Work
from bridge.native.runner import Outcome

SINGLE = -1  # the index of the one call of a job that is not an array


@dataclass
class Call:
    """A call this executor waits for; several Work items may wait on the same call."""

    key: str
    folder: str
    work: Work
    job_ids: list[str] = field(default_factory=list)


@dataclass
class Job:
    """A Batch job being polled: a single job, or an array whose wanted children are
    the indices of ``calls``, of which those in ``pending`` have not ended."""

    batch_id: str
    array: bool
    calls: dict[int, str] = field(default_factory=dict)
    pending: set[int] = field(default_factory=set)
    seen: int = 0  # the array's finished children (all of them, wanted or not) last polled

    def unfinished_ids(self) -> list[str]:
        """The Batch ids to terminate: the job, and its unfinished children (some
        stand-ins, moto, do not pass a parent's end to its children)."""
        children = [f"{self.batch_id}:{i}" for i in self.pending]
        return [self.batch_id, *(children if self.array else [])]


def fail(report: Report, job_ids: list[str], error: BaseException) -> None:
    """Report each of ``job_ids`` as failed with ``error``."""
    for job_id in job_ids:
        report(Outcome(job_id, False, error=error, traceback=repr(error)))


class Tracker:
    """The calls awaited (by call hash) and the jobs polled (by Batch id)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, Call] = {}
        self._jobs: dict[str, Job] = {}

    def add(self, work: Work, folder: str) -> Call | None:
        """The new call for ``work``, or None when its call is already awaited (then the
        work waits on it too)."""
        with self._lock:
            known = self._calls.get(work.call_hash)
            if known is not None:
                known.job_ids.append(work.job_id)
                return None
            call = self._calls[work.call_hash] = Call(work.call_hash, folder, work,
                                                      [work.job_id])
            return call

    def forget(self, calls: list[Call]) -> list[Call]:
        """Stop waiting for ``calls``; returns those that were still awaited."""
        with self._lock:
            return [c for c in calls if self._calls.pop(c.key, None) is not None]

    def track(self, batch_id: str, calls: dict[int, str]) -> None:
        """The calls (index -> call key) run as Batch job ``batch_id``: as the children of
        an array at those indices, or as the job itself (index SINGLE). All at once, so
        that the poller never sees an array only partly tracked."""
        with self._lock:
            job = self._jobs.setdefault(batch_id, Job(batch_id, array=SINGLE not in calls))
            job.calls.update(calls)
            job.pending.update(calls)

    def jobs(self) -> dict[str, Job]:
        with self._lock:
            return dict(self._jobs)

    def unfinished(self, job: Job) -> set[int]:
        """The indices of ``job``'s wanted children that have not ended (a copy)."""
        with self._lock:
            return set(job.pending)

    def finish(self, job: Job, index: int) -> Call | None:
        """Child ``index`` of ``job`` ended; returns its call unless nobody waits on it
        (or its end was already seen)."""
        with self._lock:
            if index not in job.pending:
                return None
            job.pending.discard(index)
            if not job.pending:
                self._jobs.pop(job.batch_id, None)
            return self._calls.pop(job.calls[index], None)

    def abandon(self) -> tuple[list[Job], list[Call]]:
        """Stop polling every job; returns them and the calls they still owed."""
        with self._lock:
            jobs, self._jobs = list(self._jobs.values()), {}
            keys = [job.calls[i] for job in jobs for i in job.pending]
            calls = [self._calls.pop(key) for key in dict.fromkeys(keys) if key in self._calls]
        return jobs, calls
