"""One execution: the event loop that reduces an expression graph, runs ready calls on
executors, replays cached ones, and records everything in the call-graph store.

Invariants
----------
- One thread owns an execution: the one that called :meth:`Execution.run`. Only it reads
  or changes jobs, promises and the write batch. Executors run bodies on their own
  threads, processes, containers or Batch jobs and hand back nothing but an ``Outcome``
  on the scheduler's ``outcomes`` queue, which only this loop drains.
- A job is one call (one call hash) within this execution; identical calls share it,
  in flight or done. Its states and their only transitions:

      PENDING -> CACHED                   a valid cache entry was replayed
      PENDING -> RUNNING                  submitted to its executor
      PENDING -> FAILED | CANCELLED       no executor / limits never met / stopping
      RUNNING -> RUNNING                  a retry (``retries=``)
      RUNNING -> DONE | FAILED | CANCELLED

  A parent (a body that returned an expression) stays RUNNING until that expression is
  reduced. CACHED, DONE, FAILED and CANCELLED are final.
- ``Scheduler.cancel`` (from any thread) puts a ``CancelRequest`` on the outcomes queue;
  the loop takes it like Ctrl+C: the execution ends CANCELLED, its running work stopped.
- A tick: run every ready callback (promise continuations); then look up the calls
  that want the cache, all in one query; else, once the result has failed, stop
  starting work; else wait for outcomes (at most until the pending writes are due) and
  handle up to MAX_OUTCOMES_PER_TICK of them; else, with the result known, end.
- What the cache policy is lives in :mod:`bridge.native.cache`; what is written, and
  when, in :mod:`bridge.native.recording`; how expressions reduce in
  :mod:`bridge.native.reduction`. However the loop ends (a result, an error, Ctrl+C,
  a bug), the record is flushed, unfinished jobs are CANCELLED, and work this
  execution started and that still runs is stopped.
"""

from __future__ import annotations

import functools
import gc
import queue
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge.native.awaiting import AwaitRequest, allow_awaits, end_awaits
from bridge.native.cache import CachePolicy, SharedSubtrees
from bridge.native.calling import (
    UnhashableArgumentError,
    argument_name,
    describe_arguments,
    describe_call,
    identify_call,
    scalars_only,
)
from bridge.native.context import merge_contexts, read_context
from bridge.native.drift import VersionDrift, recorded_pairs, versioned_tasks
from bridge.native.executors.base import Work
from bridge.native.expression import contains_expression
from bridge.native.file import find_files, find_temporary_files, one_look_per_path
from bridge.native.handle import HandleCalls
from bridge.native.hashing import hash_parts, hash_value
from bridge.native.job import (
    CACHED,
    CANCELLED,
    DONE,
    FAILED,
    PENDING,
    RUNNING,
    Argument,
    Job,
    Source,
)
from bridge.native.job_info import arguments_for_body
from bridge.native.limits import Limits
from bridge.native.promise import Promise
from bridge.native.recording import Recorder, serialize_expression
from bridge.native.reduction import Reduction
from bridge.native.runner import Outcome, UnstorableResultError, error_text, warn_unreturned
from bridge.native.script import SCRIPT_TASK_NAME, ScriptError
from bridge.native.secrets import secret_parameters
from bridge.native.store import CachedCall
from bridge.native.task import CacheScope, call_cache_scope
from bridge.native.temp_files import TempFiles
from bridge.native.values import ValueStoreError

if TYPE_CHECKING:
    from bridge.native.scheduler import Scheduler

MAX_OUTCOMES_PER_TICK = 2000
FREEZE_EVERY = 1000

class ExecutionCancelled(Exception):
    """The execution was cancelled through ``Scheduler.cancel`` (by an orchestrator)."""


@dataclass
class CancelRequest:
    """Put on the outcomes queue by ``Scheduler.cancel``: stop the running execution."""

    reason: str


class Execution(Reduction):
    def __init__(
        self,
        scheduler: Scheduler,
        *,
        use_cache: bool = True,
        execution_id: str | None = None,
        description: str = "",
        tags: dict[str, str] | None = None,
        listener: Callable[[Job, str], None] | None = None,
        dryrun: bool = False,
        context: dict | None = None,
        accept_versions: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.scheduler = scheduler
        # Called with (job, status) at every job state change, from the loop's thread.
        self.listener = listener
        # Dry run: cache lookups happen, nothing runs or is recorded; calls that would run
        # collect in `would_run` (their children stay unknown: their bodies never run).
        self.dryrun = dryrun
        self.would_run: list[Job] = []
        # After a dry run: (its value,) when every call it needed was a cache hit.
        self.replayed: tuple[Any] | None = None
        self.store = scheduler.store
        self.id = execution_id or str(uuid.uuid4())
        self.use_cache = use_cache
        self.description = description
        self.tags = dict(tags or {})
        # The context the top-level calls see (bridge.ini's [context], run's context=).
        self.context = dict(context or {})
        self._context_hashes: dict[int, str] = {}
        self._awaited: list[AwaitRequest] = []  # by running async bodies
        self.outcomes: queue.SimpleQueue[Outcome | CancelRequest] = scheduler.outcomes
        self.recorder = Recorder(self.store, self.id, scheduler.settings.flush_interval, dryrun)
        pinned = versioned_tasks()
        reads = self.store.start_reads(use_cache, pinned)
        self.temp_files = TempFiles(self._clone, self._submit,
                                    lambda job, error: self._fail(job, error, ""))
        self.cache = CachePolicy(self.store, scheduler.current_task_hashes,
                                 reads.cached_task_hashes, self.temp_files.refuses)
        # Raises VersionAcceptError (before anything is recorded) for a wrong acceptance.
        self.drift = VersionDrift(pinned, recorded_pairs(reads.task_sources), self.recorder,
                                  replaying=use_cache, warn=not dryrun,
                                  accept=accept_versions)
        self.jobs_by_hash: dict[str, Job] = {}
        self.handles = HandleCalls()
        self.running: dict[str, Job] = {}
        self.pending_lookups: list[Job] = []
        self.waiting: list[Job] = []
        self.limits = Limits(scheduler.settings.limits)
        self.root_job_id: str | None = None
        self.stopping = False
        self.started = time.time()
        self._frozen = False
        # The first call freezes what the process already holds (see _freeze_long_lived).
        self._jobs_at_freeze = -FREEZE_EVERY

    # -- the loop ----------------------------------------------------------------------

    def run(self, expr: Any) -> Any:
        self._record_execution("RUNNING")
        outcome: list = []
        self.reduce(expr, None).then(lambda result: outcome.append(("ok", result[0])),
                                     lambda error: outcome.append(("error", error)))
        try:
            self._loop(outcome)
            if self.dryrun:  # an error (an argument that cannot be hashed) still says so
                if outcome and outcome[0][0] == "error":
                    raise outcome[0][1]
                self.replayed = (outcome[0][1],) if outcome else None
                return None
            self._cancel_unfinished()
            self._record_execution("DONE" if outcome[0][0] == "ok" else "FAILED")
            if outcome[0][0] == "ok":
                self.temp_files.remove(keep=outcome[0][1])
        except BaseException as error:
            # Ctrl+C, or a fault in bridge itself: stop, and leave a truthful record.
            self._stop()
            for job in list(self.running.values()):
                self._cancel(job)
            self.running.clear()
            self._cancel_unfinished()
            cancelled = isinstance(error, KeyboardInterrupt | ExecutionCancelled)
            self._record_execution("CANCELLED" if cancelled else "FAILED")
            # Stop what still runs (scripts, worker processes, containers, Batch jobs) now,
            # whether or not the caller ever closes the scheduler.
            self.scheduler.stop_executors()
            raise
        finally:
            if not self.dryrun:  # a dry run's caller reads its jobs
                self._forget_calls()
            self.recorder.flush()
            if not self.dryrun:
                self.store.checkpoint()
            self._release_awaiting_bodies()
            if self._frozen:
                gc.unfreeze()
        kind, value = outcome[0]
        if kind == "error":
            raise value
        return value

    def _loop(self, outcome: list) -> None:
        while True:
            ready = self.ready
            while ready:
                callback, argument = ready.popleft()
                callback(argument)
            if self.recorder.write_failure is not None:
                raise self.recorder.write_failure
            if self.pending_lookups:
                self._process_lookups()
            elif outcome and outcome[0][0] == "error" and not self.stopping:
                self._stop()
            elif self.running:
                self._wait_for_outcomes()
            elif outcome or self.dryrun:
                return
            else:
                self._starve()

    def _wait_for_outcomes(self) -> None:
        try:
            outcome = self.outcomes.get(timeout=self.recorder.seconds_to_flush())
        except queue.Empty:
            self.recorder.flush()
            return
        self._on_outcome(outcome)
        for _ in range(MAX_OUTCOMES_PER_TICK):
            try:
                outcome = self.outcomes.get_nowait()
            except queue.Empty:
                break
            self._on_outcome(outcome)
        if not self.running:  # a dict keeps its largest size: 100,000 calls ran at once
            self.running = {}

    def _freeze_long_lived(self) -> None:
        """Keep the collector off jobs, promises and expressions, which live until the
        execution ends: every full collection would walk them all again, making the cost
        per call grow with the graph. Done first at the first call, for what the process
        held before the run (its modules: in a fresh process, the first full collection
        walks them all, tens of milliseconds of a short run). Undone (``gc.unfreeze``)
        when the run ends."""
        gc.freeze()
        self._frozen = True
        self._jobs_at_freeze = len(self.jobs_by_hash)

    def _forget_calls(self) -> None:
        """Let go of the ended execution's jobs, promises and expressions before its last
        flush, so the memory that flush takes (the run's returned expression as JSON text)
        comes on top of less. Nothing reads them any more: ``Scheduler.run`` drops the
        execution once it returns."""
        self.jobs_by_hash = {}
        self.running = {}
        self.expr_promises = {}
        self.ready.clear()
        # A full collection (of what was made since the last freeze: a few milliseconds;
        # it also empties the interpreter's free lists): measured, the last flush of a
        # 100,000-call fan-out then peaks about 20 MB lower.
        gc.collect()

    def _starve(self) -> None:
        """Nothing runs, nothing is ready, and the result is not known: what is left waits
        on limits that can never be met."""
        if not self.waiting:
            raise RuntimeError("bridge: the execution stalled with no work left (a bug)")
        names = sorted({job.task.fullname for job in self.waiting})
        error = RuntimeError(
            f"task(s) {', '.join(names)} wait for limits that are never available: "
            f"check [limits] in bridge.ini against the tasks' limits= ({self.limits.available})"
        )
        waiting, self.waiting = self.waiting, []
        for job in waiting:
            self._fail(job, error, "")

    # -- calls -------------------------------------------------------------------------

    def call(self, task: Any, call_options: dict | None, args: tuple, kwargs: dict,
             arg_sources: tuple[Source, ...], kwarg_sources: tuple[Source, ...],
             parent: Job | None) -> Job:
        """The job for a call: an identical call already in this execution, or a new one
        that is looked up in the cache or run."""
        args, kwargs = self.handles.enter(args, kwargs, parent.id if parent else None)
        marks: list[str] = []
        if call_options is None and (parent is None or not parent.exported) and not (
                task.context_parameters or task.context_options):
            # Most calls (a fan-out's leaves): no options, none handed down, no context
            # read; their context is their caller's.
            context = parent.context if parent is not None else self.context
        else:
            context, call_options, kwargs = self._apply_context(task, call_options, args,
                                                                kwargs, parent, marks)
        # most calls (a fan-out's leaves) have no options: their task's scope, no call
        scope = task.cache_scope if call_options is None else call_cache_scope(task,
                                                                                call_options)
        shared = scope is not CacheScope.NONE  # an identical call of this run may stand in
        if scalars_only(args, kwargs):  # nothing to look at: no file walks, no stat cache
            found = self._identify(task, call_options, args, kwargs, arg_sources,
                                   kwarg_sources, parent, context, True, shared)
        else:  # files in the arguments: hashing and describing them read one look each
            with one_look_per_path():
                found = self._identify(task, call_options, args, kwargs, arg_sources,
                                       kwarg_sources, parent, context, False, shared)
        if type(found) is Job:
            return found
        call_hash, key, arguments, argument_files = found
        job = self._new_job(task, call_options, args, kwargs, arguments, call_hash, parent)
        if argument_files:
            job.argument_files = argument_files
        job.exported = exported_options(job)
        job.context = context
        if marks:
            job.context_reads = marks
        self.jobs_by_hash[key] = job
        if len(self.jobs_by_hash) - self._jobs_at_freeze >= FREEZE_EVERY:
            self._freeze_long_lived()
        job.use_cache = self.use_cache and job.prov and scope is CacheScope.BACKEND
        if self.cache.may_hit(job):
            # Its argument values are recorded only if the lookup misses: a hit's are
            # stored already, by the call that left the entry.
            self.pending_lookups.append(job)
            return job
        if not job.prov or self._record_argument_values(job):
            self._submit(job)
        return job

    def _apply_context(self, task: Any, call_options: dict | None, args: tuple,
                       kwargs: dict, parent: Job | None, marks: list[str]
                       ) -> tuple[dict, dict | None, dict]:
        """The context a call sees, and its options and keyword arguments with what its
        caller hands down and its ``get_context`` reads (their marks added to ``marks``)."""
        context = self._context_of(parent, call_options)
        if parent is not None and parent.exported:  # the call site's own options win
            call_options = {**parent.exported, **(call_options or {})}
        if task.context_parameters:  # get_context(...) defaults: read them for this call
            kwargs = {**kwargs, **_read_all(
                context, task.context_parameters_left(args, kwargs), marks)}
        if task.context_options:  # get_context(...) options: the call site's win
            call_options = {**_read_all(context, task.context_options, marks),
                            **(call_options or {})}
        return context, call_options, kwargs

    def _identify(self, task: Any, call_options: dict | None, args: tuple, kwargs: dict,
                  arg_sources: tuple[Source, ...], kwarg_sources: tuple[Source, ...],
                  parent: Job | None, context: dict, scalars: bool, shared: bool
                  ) -> Job | tuple[str, str, tuple[Argument, ...], list[list[str]]]:
        """The job of an identical call already made (in the same context) when it may
        be ``shared``, else the new call's hash, its key in ``jobs_by_hash``, its
        arguments and argument files."""
        try:
            identity = identify_call(task, parent.task if parent else None, args, kwargs)
        except UnhashableArgumentError as error:
            return self._unidentified(task, call_options, args, kwargs, parent, error)
        # One job per call and context: the same call in two contexts may differ.
        key = identity.call_hash + (self._context_hash(context) if context else "")
        job = self.jobs_by_hash.get(key) if shared else None
        if job is not None:
            return job
        return (identity.call_hash, key, *describe_arguments(
            task, args, kwargs, identity, arg_sources, kwarg_sources, scalars))

    def _record_argument_values(self, job: Job) -> bool:
        """Store each argument's value under its hash (a secret one without a preview);
        False when one cannot be stored, and the job has failed with the reason."""
        secret = secret_parameters(job.task)
        try:
            for described, value in zip(job.arguments, (*job.args, *job.kwargs.values()),
                                        strict=True):
                self.recorder.value(described["hash"], value,
                                    secret=described["name"] in secret)
        except ValueStoreError as error:  # its message says what failed and what to do
            self._fail(job, error, "")
            return False
        return True

    def _new_job(self, task: Any, call_options: dict | None, args: tuple, kwargs: dict,
                 arguments: tuple[Argument, ...], call_hash: str, parent: Job | None) -> Job:
        job = Job(task, call_options, args, kwargs, arguments, call_hash, parent,
                  Promise(self.ready))
        if self.listener is not None:
            self.listener(job, PENDING)
        if self.root_job_id is None:
            self.root_job_id = job.id
        if job.prov:
            self.recorder.task(task)
            self.drift.check(task)
        return job

    def _clone(self, job: Job) -> Job:
        """A new job for ``job``'s call that skips the cache (to make its temporary
        outputs again)."""
        clone = self._new_job(job.task, job.call_options, job.args, job.kwargs,
                              job.arguments, job.call_hash, job.parent)
        clone.argument_files, clone.exported = job.argument_files, job.exported
        clone.context, clone.context_reads = job.context, job.context_reads
        clone.use_cache = False
        return clone

    def _unidentified(self, task: Any, call_options: dict | None, args: tuple, kwargs: dict,
                      parent: Job | None, error: UnhashableArgumentError) -> Job:
        """A call whose arguments cannot be hashed (an S3 input without credentials): a
        FAILED job all the same, so the record (`bridge log`) holds the error. Its call
        hash is its own, never a cache key."""
        names = [*(argument_name(task, i) for i in range(len(args))), *kwargs]
        arguments = tuple(Argument(name, "") for name in names)
        job = self._new_job(task, call_options, args, kwargs, arguments, "", parent)
        job.call_hash = hash_parts("unidentified", [task.hash, job.id])
        self._fail(job, error, "")
        return job

    def _context_of(self, parent: Job | None, call_options: dict | None) -> dict:
        """The context a call sees: its caller's, with the call's ``update_context``."""
        context = parent.context if parent is not None else self.context
        override = (call_options or {}).get("_context")
        return merge_contexts(context, override) if override else context

    def _context_hash(self, context: dict) -> str:
        """Children share their parent's context dict: hash each one once."""
        found = self._context_hashes.get(id(context))
        if found is None:
            found = self._context_hashes[id(context)] = "@" + hash_value(context)
        return found

    def _process_lookups(self) -> None:
        jobs, self.pending_lookups = self.pending_lookups, []
        if self.stopping:
            for job in jobs:
                self._cancel(job)
            return
        hits = self.cache.find_hits(jobs)
        subtrees = SharedSubtrees()
        now = time.time()  # one tick replays the batch: one start time for its jobs
        for job in jobs:
            hit = hits.get(job.id)
            if hit is not None:
                self._replay(job, *hit, subtrees, now)
            elif self._record_argument_values(job):
                self._submit(job)

    def _replay(self, job: Job, cached: CachedCall, value: Any, subtrees: SharedSubtrees,
                now: float) -> None:
        job.status, job.started = CACHED, now
        job.subtree_tasks, job.subtree_files = subtrees.of(cached)
        job.subtree_counts = cached.subtree_counts
        if self.drift.unchecked:
            self.drift.check_hashes(cached.subtree_tasks)
        if self.listener is not None:
            self.listener(job, CACHED)
        self.recorder.job_replayed(job, cached.result_hash, cached.result_files)
        if cached.result_files:
            self.temp_files.produced(job, cached.result_files, ran=False)
        job.promise.resolve((value, (((), job.call_hash, ()),)))

    def _submit(self, job: Job) -> None:
        if self.stopping:
            self._cancel(job)
            return
        if self.dryrun:
            self.would_run.append(job)
            return
        if job.argument_files and self.temp_files.wait_for(
                job, job.argument_files, lambda: self._submit(job)):
            return  # temporary inputs that are gone: made again first
        try:
            executor = self.scheduler.executor(job.executor_name, job.task.fullname)
        except Exception as error:
            self._fail(job, error, "")
            return
        if job.limits and not self.limits.acquire(job.limits):
            self.waiting.append(job)
            return
        if job.status == PENDING:
            job.status, job.started = RUNNING, time.time()
            self.recorder.job_started(job)
            self._notify(job, RUNNING)
        self.running[job.id] = job
        task = job.task
        if task.is_async():
            allow_awaits(job.id, self.outcomes)
        options = executor_options(task.executor_options, job.call_options)
        args, kwargs = arguments_for_body(job, self.id, options)
        executor.submit(Work(job.id, task, args, kwargs, options, job.call_hash,
                             task.fullname == SCRIPT_TASK_NAME,
                             task.option("retries", job.call_options, task.retries)))

    def _release(self, job: Job) -> None:
        self.limits.release(job.limits)
        waiting, self.waiting = self.waiting, []
        for waiter in waiting:
            self._submit(waiter)

    # -- outcomes ----------------------------------------------------------------------

    def _on_outcome(self, outcome: Outcome | CancelRequest | AwaitRequest) -> None:
        if isinstance(outcome, CancelRequest):
            raise ExecutionCancelled(outcome.reason)
        if isinstance(outcome, AwaitRequest):
            self._evaluate_awaited(outcome)
            return
        job = self.running.pop(outcome.job_id, None)
        end_awaits(outcome.job_id)
        if job is None:  # cancelled while it ran
            return
        if outcome.output:
            self.recorder.job_output(job, outcome.output)
        if job.limits:
            self._release(job)
        if not outcome.ok:
            job.attempts += outcome.retried
            if job.attempts < job.option("retries", job.task.retries) and not self.stopping:
                job.attempts += 1
                self._submit(job)
            else:
                self._fail(job, outcome.error, outcome.traceback)
            return
        if outcome.unreturned:
            warn_unreturned(job.task, outcome.unreturned)
        value = outcome.value
        if not contains_expression(value):
            self._finish(job, value)
        elif self.stopping:
            self._cancel(job)
        else:
            job.returned = value
            # _finish runs as a step of its own, once the reduced value's sources (one per
            # call of a fan-out, which it does not read) are let go of.
            self.reduce(value, job).then(
                lambda value_sources: self.ready.append(
                    (functools.partial(self._finish, job), value_sources[0])),
                lambda error: self._fail(job, error, ""),
            )

    def _evaluate_awaited(self, request: AwaitRequest) -> None:
        """An expression a running async body awaits: reduced under that body's job."""
        job = self.running.get(request.job_id)
        if job is None or self.stopping:
            request.future.set_exception(ExecutionCancelled("the execution is stopping"))
            return
        self._awaited.append(request)

        def resolve(value_sources: tuple) -> None:
            value = value_sources[0]
            if not self.temp_files.wait_for(  # replayed temporary files that are gone
                    job, find_temporary_files(value),
                    lambda: request.future.set_result(value), request.future.set_exception):
                request.future.set_result(value)

        self.reduce(request.expression, job).then(resolve, request.future.set_exception)

    def _release_awaiting_bodies(self) -> None:
        """A body still awaiting when the execution ends (it failed, or was stopped)
        gets an error at its ``await`` instead of waiting forever."""
        for request in self._awaited:
            if not request.future.done():
                request.future.set_exception(ExecutionCancelled("the execution ended"))
            end_awaits(request.job_id)

    def _finish(self, job: Job, value: Any) -> None:
        try:
            value = self.handles.leave(value, job.call_hash)
            result_hash = hash_value(value)
            self.recorder.value(result_hash, value)
            result_files = find_files(value)
            returned = None
            if job.returned is not None:
                with one_look_per_path():  # a File passed to 10,000 calls: one stat
                    returned = serialize_expression(job.returned, self.recorder,
                                                    self.job_of)
        except ValueStoreError as error:  # its message says what failed and what to do
            self._fail(job, error, "")
            return
        except Exception as error:
            self._fail(job, UnstorableResultError(
                f"task {job.task.fullname} returned {type(value).__name__} that bridge cannot "
                f"record ({type(error).__name__}: {error}): return plain data, Files, or "
                "objects that pickle"), "")
            return
        if job.parent is None and self.temp_files.wait_for(
                job, result_files,
                lambda: self._done(job, value, result_hash, result_files, returned)):
            return  # the run's result holds temporary files that are gone: made again first
        self._done(job, value, result_hash, result_files, returned)

    def _done(self, job: Job, value: Any, result_hash: str, result_files: list,
              returned: Any) -> None:
        if job.subtree_files:
            job.subtree_files = _distinct([*job.subtree_files, *result_files])
        elif result_files:
            job.subtree_files = result_files
        job.status = DONE
        self.recorder.job_done(job, result_hash, result_files, returned)
        self.temp_files.produced(job, result_files, ran=True)
        self._notify(job, DONE)
        job.promise.resolve((value, (((), job.call_hash, ()),)))

    def _fail(self, job: Job, error: BaseException, traceback_text: str) -> None:
        job.status = FAILED
        if isinstance(error, ScriptError) and job.parent is not None and not error.caller:
            error.caller = describe_call(job.parent)  # which call (which sample) built it
        text = error_text(error)
        if traceback_text:
            text += "\n" + traceback_text
        self.recorder.job_status(job, FAILED, error=text)
        self._notify(job, FAILED)
        job.promise.reject(error)

    def _cancel(self, job: Job) -> None:
        if job.status in (DONE, CACHED, FAILED, CANCELLED):
            return
        was_recorded = job.status != PENDING
        job.status = CANCELLED
        if was_recorded:
            self.recorder.job_status(job, CANCELLED)
        self._notify(job, CANCELLED)

    def _notify(self, job: Job, status: str) -> None:
        if self.listener is not None:
            self.listener(job, status)

    # -- stopping ----------------------------------------------------------------------

    def _stop(self) -> None:
        """Start no new work; work already running finishes and is recorded."""
        self.stopping = True
        for executor in self.scheduler.started_executors():
            for job_id in executor.cancel_pending():
                job = self.running.pop(job_id, None)
                if job is not None:
                    self._cancel(job)
        waiting, self.waiting = self.waiting, []
        for job in waiting:
            self._cancel(job)

    def _cancel_unfinished(self) -> None:
        """Parents whose children were cancelled must not stay RUNNING in the record."""
        for job in self.jobs_by_hash.values():
            if job.status in (RUNNING, PENDING):
                self._cancel(job)

    def _record_execution(self, status: str) -> None:
        self.recorder.execution(status, self.root_job_id, self.description, self.started,
                                self.tags)

    def add_tags(self, kind: str, entity_id: str, tags: dict[str, Any]) -> None:
        self.recorder.tags(kind, entity_id, tags)


def _read_all(context: dict, reads: list[tuple[str, Any]], marks: list[str]) -> dict:
    """{name: value} of ``get_context`` reads; each read's mark added to ``marks``."""
    values = {}
    for name, form in reads:
        values[name], mark = read_context(context, form.params["path"], form.params["default"])
        marks.append(mark)
    return values


_SCHEDULING_OPTIONS = frozenset({"_context", "_export", "nout", "prov", "tags"})


def exported_options(job: Job) -> Mapping[str, Any]:
    """What a job hands down to the calls beneath it: the options its task exports
    (``@task(export_options=...)``), its call site exports (``.export_options(...)``) and
    its caller handed down to it, each with the value this job runs with."""
    from_call = (job.call_options or {}).get("_export", ())
    from_parent = job.parent.exported if job.parent is not None else {}
    if not (job.task.export_keys or from_call or from_parent):
        return job.exported  # the common case, on the hot path: nothing handed down
    keys = {*job.task.export_keys, *from_call, *from_parent}
    return {key: job.option(key) for key in keys}


def executor_options(task_options: dict, call_options: dict | None) -> dict:
    """What the executor gets: the task's options and the call site's, without those
    only the scheduler reads."""
    if not call_options:
        return task_options
    return {**task_options, **{k: v for k, v in call_options.items()
                               if k not in _SCHEDULING_OPTIONS}}


def _distinct(files: list[list[str]]) -> list[list[str]]:
    """Each recorded [uri, hash] once, in first-seen order."""
    return [list(pair) for pair in dict.fromkeys(tuple(pair) for pair in files)]
