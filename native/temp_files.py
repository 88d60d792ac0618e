"""Temporary outputs (``File(...).temp()``) during one execution: which call made each,
getting one back before a call that must run reads it, and removing them at the end.

A temporary file that is gone keeps its recorded hash (``File._stand_in``), so the calls
that read it hash and replay as before. Only a call that runs needs the bytes: before it
is submitted, every temporary file among its arguments that is gone is made again by
running its producer with its cache entry set aside (a clone of the producer's job; a
producer that is a parent runs its body, and the cache refuses any entry whose result
holds a file being made again, so the call that writes it runs). A producer that makes
different bytes this time is an error, never a run on other data than the call's hash
says.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

from bridge.native.file import File, files_unchanged, iter_files, recorded_flags, recorded_uri
from bridge.native.job import Job


class TemporaryFileWarning(UserWarning):
    """A temporary file could not be removed at the end of a run."""


class TemporaryFileGone(Exception):
    """A temporary file a call must read is gone and cannot be made again."""


class TempFiles:
    """The temporary files of one execution. ``clone_job``, ``run_job`` and ``fail_job``
    are the execution's own: a job for the same call that skips the cache, submit a job,
    fail a job."""

    def __init__(self, clone_job: Callable[[Job], Job], run_job: Callable[[Job], None],
                 fail_job: Callable[[Job, BaseException], None]) -> None:
        self.clone_job = clone_job
        self.run_job = run_job  # submit a job
        self.fail_job = fail_job
        self.producers: dict[str, Job] = {}  # uri -> the first call seen to return it
        self.clones: dict[str, Job] = {}  # a producer's job id -> the clone running it
        self.remaking: set[str] = set()  # uris being made again
        self.made: set[str] = set()  # uris returned by a call that ran in this run

    def produced(self, job: Job, result_files: Iterable[list[str]], ran: bool) -> None:
        """A job ran (``ran``) or replayed with these result files. A file is made by the
        first call seen to return it (children finish before their parents, so a parent
        that ran and passes on a file its child replayed did not make it), or by the call
        that makes it again."""
        for entry in result_files:
            if not recorded_flags(entry)[1]:
                continue
            uri = entry[0]
            if ran and (uri not in self.producers or uri in self.remaking):
                self.made.add(uri)
            self.producers.setdefault(uri, job)

    def refuses(self, result_files: Iterable[list[str]]) -> bool:
        """A cache entry must not replay: its result holds a file being made again."""
        return bool(self.remaking) and any(entry[0] in self.remaking for entry in result_files)

    def wait_for(self, job: Job, files: Iterable[list[str]], then: Callable[[], None],
                 fail: Callable[[BaseException], None] | None = None) -> bool:
        """True when temporary ``files`` of ``job`` (its arguments before it runs; the
        run's result; a value its async body awaits) are gone: they are made again, then
        ``then()`` is called, or ``fail(error)`` (by default: the job fails). False when
        they are all there."""
        gone = [entry for entry in files
                if recorded_flags(entry)[1] and not File(entry[0]).exists()]
        if not gone:
            return False
        fail_with = fail or (lambda error: self.fail_job(job, error))
        try:
            makers = {id(clone): clone for clone in (self._remake(entry[0], job)
                                                     for entry in gone)}
        except TemporaryFileGone as error:
            fail_with(error)
            return True
        waiting = len(makers)

        def made(_: Any) -> None:
            nonlocal waiting
            waiting -= 1
            if waiting == 0:
                self._resume(job, gone, then, fail_with)

        def failed(error: BaseException) -> None:
            nonlocal waiting
            if waiting > 0:  # the first failure fails the job, once
                waiting = -1
                fail_with(error)

        for clone in makers.values():
            clone.promise.then(made, failed)
        return True

    def _remake(self, uri: str, reader: Job) -> Job:
        """The clone of the call that returned ``uri``, started once per producer."""
        producer = self.producers.get(uri)
        if producer is None:
            raise TemporaryFileGone(
                f"{reader.task.fullname} needs the temporary file {uri}, which is gone, and "
                "no call in this run returns it: run once with --no-cache to make it again")
        self.remaking.add(uri)
        clone = self.clones.get(producer.id)
        if clone is None:
            clone = self.clones[producer.id] = self.clone_job(producer)
            clone.promise.then(self._made_again, lambda error: None)
            self.run_job(clone)
        return clone

    def _made_again(self, _: Any) -> None:
        self.remaking = {uri for uri in self.remaking if not File(uri).exists()}

    def _resume(self, job: Job, gone: list[list[str]], then: Callable[[], None],
                fail: Callable[[BaseException], None]) -> None:
        changed = [entry[0] for entry in gone
                   if not files_unchanged([entry], temp_may_be_gone=False)]
        if changed:
            fail(TemporaryFileGone(
                f"{job.task.fullname} reads the temporary file(s) {', '.join(changed)}, "
                "made again with other content than its call recorded (a producer that is "
                "not deterministic): run again, now that they exist"))
            return
        then()

    def remove(self, keep: Any) -> None:
        """At the end of a successful run: remove every temporary file that a call of this
        run made (one that ran, not one replayed: a file an earlier run made may be about to
        be read by another process), except those in ``keep`` (the run's result). Best
        effort: a file that cannot be removed is a warning, never a failed run."""
        if not self.made:
            return
        kept = {recorded_uri(item) for item in iter_files(keep)}  # paths only: no hashing
        for uri in self.made:
            if uri in kept:
                continue
            try:
                File(uri).remove()
            except Exception as error:
                warnings.warn(f"the temporary file {uri} could not be removed "
                              f"({type(error).__name__}: {error}): remove it yourself",
                              TemporaryFileWarning, stacklevel=2)
