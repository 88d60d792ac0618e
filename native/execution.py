"""One execution: the event loop that reduces an expression graph, runs ready calls on
executors, replays cached ones, and records everything in the call-graph store."""

from __future__ import annotations

import gc
import queue
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.native import control
from bridge.native.executors.base import Work
from bridge.native.expression import (
    CallValue,
    Expression,
    GetAttr,
    GetItem,
    Operation,
    SpecialForm,
    TaskCall,
    contains_expression,
)
from bridge.native.file import files_unchanged, find_file_uris, find_files
from bridge.native.hashing import hash_call, hash_parts, hash_value
from bridge.native.job import (
    CACHED,
    CANCELLED,
    DONE,
    FAILED,
    NO_SOURCES,
    PENDING,
    RUNNING,
    Job,
    Source,
)
from bridge.native.promise import Promise, gather, resolved
from bridge.native.recording import job_row, serialize_expression
from bridge.native.runner import Outcome, warn_unreturned
from bridge.native.script import SCRIPT_TASK_NAME
from bridge.native.store import CachedCall, WriteBatch

if TYPE_CHECKING:
    from bridge.native.scheduler import Scheduler

_CONTAINERS = (list, tuple, dict, set, frozenset)
MAX_OUTCOMES_PER_TICK = 2000
FREEZE_EVERY = 1000


class UnstorableResultError(TypeError):
    """A task returned a value the store cannot hash or serialise."""


class UnhashableArgumentError(TypeError):
    """A task was called with an argument bridge cannot hash."""


class Execution:
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
    ) -> None:
        self.scheduler = scheduler
        # Called with (job, status) at every job state change, from the loop's thread.
        self.listener = listener
        # Dry run: cache lookups happen, nothing runs or is recorded; calls that would run
        # collect in `would_run` (their children stay unknown: their bodies never run).
        self.dryrun = dryrun
        self.would_run: list[Job] = []
        self.store = scheduler.store
        self.id = execution_id or str(uuid.uuid4())
        self.use_cache = use_cache
        self.description = description
        self.tags = dict(tags or {})
        self.ready: deque = deque()
        self.outcomes: queue.SimpleQueue[Outcome] = scheduler.outcomes
        self.batch = WriteBatch()
        self.jobs_by_hash: dict[str, Job] = {}
        self.expr_promises: dict[int, tuple[Expression, Promise]] = {}
        self.expr_jobs: dict[int, Job] = {}
        self.running: dict[str, Job] = {}
        self.pending_lookups: list[Job] = []
        self.waiting: deque[Job] = deque()
        self.available = dict(scheduler.settings.limits)
        # Read once: a call whose task has no cache entry at all skips the lookup query.
        self.cached_task_hashes = self.store.cached_task_hashes() if use_cache else set()
        self.recorded_tasks: set[str] = set()
        self.root_job_id: str | None = None
        self.stopping = False
        self.started = time.time()
        self._last_flush = time.monotonic()
        self._frozen = False
        self._jobs_at_freeze = 0

    # -- the loop ----------------------------------------------------------------------

    def run(self, expr: Any) -> Any:
        self._record_execution("RUNNING")
        root = self.reduce(expr, None)
        outcome: list = []
        root.then(lambda result: outcome.append(("ok", result[0])),
                  lambda error: outcome.append(("error", error)))
        try:
            while True:
                self._drain_ready()
                if self.pending_lookups:
                    self._process_lookups()
                elif outcome and outcome[0][0] == "error" and not self.stopping:
                    self._stop()
                elif self.running:
                    self._wait_for_outcomes()
                elif outcome or self.dryrun:
                    break
                else:
                    self._starve()
            if self.dryrun:
                return None
            self._cancel_unfinished()
            self._record_execution("DONE" if outcome[0][0] == "ok" else "FAILED")
        except BaseException as error:
            # Ctrl+C, or a fault in bridge itself: stop, and leave a truthful record.
            self._stop()
            for job in list(self.running.values()):
                self._cancel(job)
            self.running.clear()
            self._cancel_unfinished()
            cancelled = isinstance(error, KeyboardInterrupt)
            self._record_execution("CANCELLED" if cancelled else "FAILED")
            # Stop what still runs (scripts, worker processes, containers, Batch jobs) now,
            # whether or not the caller ever closes the scheduler.
            self.scheduler.stop_executors()
            raise
        finally:
            if not self.dryrun:
                self.store.flush(self.batch)
            self.batch = WriteBatch()
            if self._frozen:
                gc.unfreeze()
        kind, value = outcome[0]
        if kind == "error":
            raise value
        return value

    def _drain_ready(self) -> None:
        ready = self.ready
        while ready:
            callback, argument = ready.popleft()
            callback(argument)

    def _wait_for_outcomes(self) -> None:
        interval = self.scheduler.settings.flush_interval
        timeout = None
        if self.batch:
            due = interval - (time.monotonic() - self._last_flush)
            if due <= 0:
                self._flush()
            else:
                timeout = due
        try:
            outcome = self.outcomes.get(timeout=timeout)
        except queue.Empty:
            self._flush()
            return
        self._on_outcome(outcome)
        for _ in range(MAX_OUTCOMES_PER_TICK):
            try:
                outcome = self.outcomes.get_nowait()
            except queue.Empty:
                break
            self._on_outcome(outcome)

    def _freeze_long_lived(self) -> None:
        """Keep the collector off the execution's own bookkeeping.

        Jobs, promises and expressions live until the execution ends, yet every full
        collection walks them all again, which makes the cost per call grow with the
        size of the graph. Every FREEZE_EVERY new jobs, what exists is moved out of the
        collector's sight (``gc.freeze``) until the run ends."""
        gc.freeze()
        self._frozen = True
        self._jobs_at_freeze = len(self.jobs_by_hash)

    def _flush(self) -> None:
        batch, self.batch = self.batch, WriteBatch()
        self.store.flush(batch)
        self._last_flush = time.monotonic()

    def _starve(self) -> None:
        """Nothing runs, nothing is ready, and the result is not known: what is left waits
        on limits that can never be met."""
        if not self.waiting:
            raise RuntimeError("bridge: the execution stalled with no work left (a bug)")
        names = sorted({job.task.fullname for job in self.waiting})
        error = RuntimeError(
            f"task(s) {', '.join(names)} wait for limits that are never available: "
            f"check [limits] in bridge.ini against the tasks' limits= ({self.available})"
        )
        while self.waiting:
            self._fail(self.waiting.popleft(), error, "")

    # -- reduction ---------------------------------------------------------------------

    def reduce(self, value: Any, parent: Job | None) -> Promise:
        """A promise of (value, sources) for any value, lazy or not."""
        if isinstance(value, Expression):
            entry = self.expr_promises.get(id(value))
            if entry is not None:
                return entry[1]
            promise = self._reduce_expression(value, parent)
            self.expr_promises[id(value)] = (value, promise)
            return promise
        if (type(value) in _CONTAINERS or isinstance(value, tuple)) and contains_expression(value):
            return self._reduce_container(value, parent)
        return resolved(self.ready, (value, NO_SOURCES))

    def _reduce_container(self, value: Any, parent: Job | None) -> Promise:
        result = Promise(self.ready)
        if type(value) is dict:
            keys = list(value.keys())
            items = gather(self.ready, [self.reduce(v, parent) for v in value.values()])
            key_items = gather(self.ready, [self.reduce(k, parent) for k in keys])

            def on_dict(both: list) -> None:
                pairs = list(zip(*both, strict=True))  # ((key, key_sources), (value, sources))
                built = {key: value for (key, _), (value, _) in pairs}
                sources = _prefixed([(_json_key(key), s) for (key, _), (_, s) in pairs])
                result.resolve((built, sources))

            gather(self.ready, [key_items, items]).then(on_dict, result.reject)
            return result

        def on_items(items: list) -> None:
            values = [v for v, _ in items]
            cls = type(value)
            # namedtuples take their fields as arguments
            built = cls(values) if cls in (list, tuple, set, frozenset) else cls(*values)
            sources = () if cls in (set, frozenset) else _prefixed(
                [(index, s) for index, (_, s) in enumerate(items)]
            )
            result.resolve((built, sources))

        gather(self.ready, [self.reduce(v, parent) for v in value]).then(on_items, result.reject)
        return result

    def _reduce_expression(self, expr: Expression, parent: Job | None) -> Promise:
        if isinstance(expr, TaskCall):
            return self._reduce_task_call(expr, parent)
        if isinstance(expr, SpecialForm):
            return control.evaluate(self, expr, parent)
        result = Promise(self.ready)
        if isinstance(expr, GetItem):
            def on_getitem(parts: list) -> None:
                (base, sources), (key, _) = parts
                result.resolve((base[key], _narrow(sources, _json_key(key))))
            operands = [expr.base, expr.key]
            on_value = on_getitem
        elif isinstance(expr, GetAttr):
            def on_getattr(parts: list) -> None:
                base, sources = parts[0]
                result.resolve((getattr(base, expr.name), _narrow(sources, expr.name)))
            operands = [expr.base]
            on_value = on_getattr
        elif isinstance(expr, Operation):
            def on_operation(parts: list) -> None:
                result.resolve((expr.apply(*(v for v, _ in parts)), NO_SOURCES))
            operands = list(expr.operands)
            on_value = on_operation
        elif isinstance(expr, CallValue):
            def on_call(parts: list) -> None:
                func, args, kwargs = (v for v, _ in parts)
                self.reduce(func(*args, **kwargs), parent).then(result.resolve, result.reject)
            operands = [expr.func, expr.args, expr.kwargs]
            on_value = on_call
        else:
            raise TypeError(f"bridge cannot evaluate {expr!r}")

        def guarded(parts: list) -> None:
            try:
                on_value(parts)
            except Exception as error:
                result.reject(error)

        gather(self.ready, [self.reduce(op, parent) for op in operands]).then(
            guarded, result.reject
        )
        return result

    def _reduce_task_call(self, expr: TaskCall, parent: Job | None) -> Promise:
        result = Promise(self.ready)

        def on_job_done(value_sources: tuple) -> None:
            result.resolve(value_sources)

        def start(parts: list) -> None:
            (args, arg_sources), (kwargs, kwarg_sources) = parts
            try:
                job = self.call(expr.task, expr.options, args, kwargs,
                                arg_sources, kwarg_sources, parent)
            except Exception as error:
                result.reject(error)
                return
            self.expr_jobs[id(expr)] = job
            if parent is not None:
                job.promise.then(lambda _: _merge_subtree(parent, job), _ignore)
            job.promise.then(on_job_done, result.reject)

        if contains_expression(expr.args) or contains_expression(expr.kwargs):
            gather(self.ready, [self.reduce(expr.args, parent), self.reduce(expr.kwargs, parent)]
                   ).then(start, result.reject)
        else:
            start([(expr.args, NO_SOURCES), (expr.kwargs, NO_SOURCES)])
        return result

    # -- calls -------------------------------------------------------------------------

    def call(
        self,
        task: Any,
        call_options: dict | None,
        args: tuple,
        kwargs: dict,
        arg_sources: tuple[Source, ...],
        kwarg_sources: tuple[Source, ...],
        parent: Job | None,
    ) -> Job:
        """The job for a call: an identical call already in this execution, or a new one
        that is looked up in the cache or run."""
        try:
            arg_hashes = [hash_value(arg) for arg in args]
            kwarg_hashes = {name: hash_value(arg) for name, arg in kwargs.items()}
        except Exception as error:
            raise UnhashableArgumentError(
                f"an argument of {task.fullname}(...) cannot be hashed "
                f"({type(error).__name__}: {error}): pass plain data, Files, or objects "
                "that pickle"
            ) from error
        call_hash = hash_call(task.hash, arg_hashes, kwarg_hashes)
        job = self.jobs_by_hash.get(call_hash)
        if job is not None:
            return job
        arguments = _describe_arguments(
            task, args, kwargs, arg_hashes, kwarg_hashes, arg_sources, kwarg_sources
        )
        job = Job(task, call_options, args, kwargs, arguments, call_hash, parent,
                  Promise(self.ready))
        self.jobs_by_hash[call_hash] = job
        if len(self.jobs_by_hash) - self._jobs_at_freeze >= FREEZE_EVERY:
            self._freeze_long_lived()
        if self.listener is not None:
            self.listener(job, PENDING)
        if self.root_job_id is None:
            self.root_job_id = job.id
        self._record_task(task)
        add_value = self.store.add_value
        for arg, arg_hash in zip(args, arg_hashes, strict=True):
            add_value(self.batch, arg_hash, arg)
        for name, arg in kwargs.items():
            add_value(self.batch, kwarg_hashes[name], arg)
        job.use_cache = self.use_cache and job.option("cache", task.cache)
        if job.use_cache and task.hash in self.cached_task_hashes:
            self.pending_lookups.append(job)
        else:
            self._submit(job)
        return job

    def _process_lookups(self) -> None:
        jobs, self.pending_lookups = self.pending_lookups, []
        if self.stopping:
            for job in jobs:
                self._cancel(job)
            return
        found = self.store.lookup_calls(job.call_hash for job in jobs)
        for job in jobs:
            for cached in found.get(job.call_hash, ()):
                if self._is_valid(cached, job):
                    self._replay(job, cached)
                    break
            else:
                self._submit(job)

    def _is_valid(self, cached: CachedCall, job: Job) -> bool:
        current = self.scheduler.current_task_hashes()
        if not all(task_hash in current for task_hash in cached.subtree_tasks):
            return False
        full = job.option("check_valid", job.task.check_valid) == "full"
        return files_unchanged(cached.subtree_files if full else cached.result_files)

    def _replay(self, job: Job, cached: CachedCall) -> None:
        try:
            value = self.store.load_cached_result(cached)
        except Exception:  # an unreadable value (deleted value store file): run it again
            self._submit(job)
            return
        now = time.time()
        job.status, job.started = CACHED, now
        job.subtree_tasks = set(cached.subtree_tasks)
        job.subtree_files = list(cached.subtree_files)
        job.subtree_counts = cached.subtree_counts
        if self.listener is not None:
            self.listener(job, CACHED)
        self.batch.new_jobs[job.id] = job_row(self.id, job, ended=now)
        job.promise.resolve((value, (((), job.call_hash, ()),)))

    def _submit(self, job: Job) -> None:
        if self.stopping:
            self._cancel(job)
            return
        if self.dryrun:
            self.would_run.append(job)
            return
        try:
            executor = self.scheduler.executor(job.executor_name, job.task.fullname)
        except Exception as error:
            self._fail(job, error, "")
            return
        if job.limits and not self._acquire(job):
            self.waiting.append(job)
            return
        if job.status == PENDING:
            job.status, job.started = RUNNING, time.time()
            self.batch.new_jobs[job.id] = job_row(self.id, job)
            if self.listener is not None:
                self.listener(job, RUNNING)
        self.running[job.id] = job
        executor.submit(Work(job.id, job.task, job.args, job.kwargs,
                             {**job.task.executor_options, **(job.call_options or {})},
                             job.call_hash, job.task.fullname == SCRIPT_TASK_NAME))

    def _acquire(self, job: Job) -> bool:
        wants = job.limits
        available = self.available
        if any(available.setdefault(name, 1) < count for name, count in wants.items()):
            return False
        for name, count in wants.items():
            available[name] -= count
        return True

    def _release(self, job: Job) -> None:
        for name, count in job.limits.items():
            self.available[name] += count
        for _ in range(len(self.waiting)):
            self._submit(self.waiting.popleft())

    # -- outcomes ----------------------------------------------------------------------

    def _on_outcome(self, outcome: Outcome) -> None:
        job = self.running.pop(outcome.job_id, None)
        if job is None:  # cancelled while it ran
            return
        if job.limits:
            self._release(job)
        if not outcome.ok:
            if job.attempts < job.option("retries", job.task.retries) and not self.stopping:
                job.attempts += 1
                self._submit(job)
            else:
                self._fail(job, outcome.error, outcome.traceback)
            return
        if outcome.unreturned:
            warn_unreturned(job.task.fullname, outcome.unreturned)
        value = outcome.value
        if contains_expression(value):
            if self.stopping:
                self._cancel(job)
                return
            job.returned = value
            self.reduce(value, job).then(
                lambda value_sources: self._finish(job, value_sources[0]),
                lambda error: self._fail(job, error, ""),
            )
        else:
            self._finish(job, value)

    def _finish(self, job: Job, value: Any) -> None:
        try:
            result_hash = hash_value(value)
            self.store.add_value(self.batch, result_hash, value)
            result_files = find_files(value)
            returned = None
            if job.returned is not None:
                returned = serialize_expression(job.returned, self)
        except Exception as error:
            self._fail(job, UnstorableResultError(
                f"task {job.task.fullname} returned {type(value).__name__} that bridge cannot "
                f"record ({type(error).__name__}: {error}): return plain data, Files, or "
                "objects that pickle"), "")
            return
        job.subtree_files.extend(result_files)
        subtree_tasks = sorted(job.subtree_tasks)
        subtree_hash = hash_parts("subtree", subtree_tasks)
        self.batch.calls[(job.call_hash, subtree_hash)] = {
            "call_hash": job.call_hash,
            "subtree_hash": subtree_hash,
            "task_hash": job.task.hash,
            "result_hash": result_hash,
            "subtree_tasks": subtree_tasks,
            "result_files": result_files,
            "subtree_files": job.subtree_files,
            "subtree_counts": job.subtree_counts,
            "returned": returned,
            "job_id": job.id,
            "created": time.time(),
        }
        job.status = DONE
        self.batch.update_job(job.id, status=DONE, ended=time.time())
        if self.listener is not None:
            self.listener(job, DONE)
        job.promise.resolve((value, (((), job.call_hash, ()),)))

    def _fail(self, job: Job, error: BaseException, traceback_text: str) -> None:
        job.status = FAILED
        text = f"{type(error).__name__}: {error}"
        if traceback_text:
            text += "\n" + traceback_text
        self._write_status(job, FAILED, error=text)
        if self.listener is not None:
            self.listener(job, FAILED)
        job.promise.reject(error)

    def _cancel(self, job: Job) -> None:
        if job.status in (DONE, CACHED, FAILED, CANCELLED):
            return
        was_recorded = job.status != PENDING
        job.status = CANCELLED
        if was_recorded:
            self._write_status(job, CANCELLED)
        if self.listener is not None:
            self.listener(job, CANCELLED)

    def _write_status(self, job: Job, status: str, error: str | None = None) -> None:
        if job.id not in self.batch.new_jobs and job.started == 0.0:
            job.started = time.time()
            self.batch.new_jobs[job.id] = job_row(self.id, job)
        self.batch.update_job(job.id, status=status, ended=time.time(), error=error)

    # -- stopping ----------------------------------------------------------------------

    def _stop(self) -> None:
        """Start no new work; work already running finishes and is recorded."""
        self.stopping = True
        for executor in self.scheduler.started_executors():
            for job_id in executor.cancel_pending():
                job = self.running.pop(job_id, None)
                if job is not None:
                    self._cancel(job)
        while self.waiting:
            self._cancel(self.waiting.popleft())

    def _cancel_unfinished(self) -> None:
        """Parents whose children were cancelled must not stay RUNNING in the record."""
        for job in self.jobs_by_hash.values():
            if job.status in (RUNNING, PENDING):
                self._cancel(job)

    def _record_execution(self, status: str) -> None:
        self.batch.executions[self.id] = {
            "execution_id": self.id,
            "root_job_id": self.root_job_id,
            "description": self.description,
            "status": status,
            "started": self.started,
            "ended": None if status == "RUNNING" else time.time(),
            "tags": self.tags,
        }

    def _record_task(self, task: Any) -> None:
        if task.hash in self.recorded_tasks:
            return
        self.recorded_tasks.add(task.hash)
        self.batch.tasks[task.hash] = {
            "task_hash": task.hash,
            "fullname": task.fullname,
            "namespace": task.namespace,
            "source": task.source if task.version is None else f"# version {task.version}\n"
            + task.source,
        }

    def add_tags(self, kind: str, entity_id: str, tags: dict[str, Any]) -> None:
        for key, value in tags.items():
            self.batch.tags.append(
                {"entity_kind": kind, "entity_id": entity_id, "key": str(key), "value": str(value)}
            )


def _merge_subtree(parent: Job, child: Job) -> None:
    parent.subtree_tasks |= child.subtree_tasks
    parent.subtree_files.extend(child.subtree_files)
    counts = parent.subtree_counts
    if counts is None:
        counts = parent.subtree_counts = {parent.task.fullname: 1}
    if child.subtree_counts is None:
        name = child.task.fullname
        counts[name] = counts.get(name, 0) + 1
    else:
        for name, n in child.subtree_counts.items():
            counts[name] = counts.get(name, 0) + n


def _ignore(_: Any) -> None:
    return None


def _json_key(key: Any) -> Any:
    return key if type(key) in (str, int, float, bool) or key is None else repr(key)


def _prefixed(parts: list[tuple[Any, tuple[Source, ...]]]) -> tuple[Source, ...]:
    return tuple(
        ((prefix, *subpath), call_hash, path)
        for prefix, sources in parts
        for subpath, call_hash, path in sources
    )


def _narrow(sources: tuple[Source, ...], key: Any) -> tuple[Source, ...]:
    """Sources of `value[key]`, given the sources of `value`."""
    narrowed = []
    for subpath, call_hash, path in sources:
        if not subpath:
            narrowed.append(((), call_hash, (*path, key)))
        elif subpath[0] == key:
            narrowed.append((subpath[1:], call_hash, path))
    return tuple(narrowed)


def _describe_arguments(
    task: Any,
    args: tuple,
    kwargs: dict,
    arg_hashes: list[str],
    kwarg_hashes: dict[str, str],
    arg_sources: tuple[Source, ...],
    kwarg_sources: tuple[Source, ...],
) -> list[dict]:
    """Each argument's name, value hash and sources (the upstream calls it came from),
    plus the uris of the files it holds, so a file built into an argument inside a body
    (a script's staged inputs) can still be traced to the job that wrote it."""
    names = task.positional_names
    arguments = []
    for index, (value, arg_hash) in enumerate(zip(args, arg_hashes, strict=True)):
        name = names[index] if index < len(names) else f"*{index}"
        arguments.append(_describe_argument(name, value, arg_hash, arg_sources, index))
    for name, arg_hash in kwarg_hashes.items():
        arguments.append(_describe_argument(name, kwargs[name], arg_hash, kwarg_sources, name))
    return arguments


def _describe_argument(
    name: str, value: Any, value_hash: str, sources: tuple[Source, ...], key: Any
) -> dict:
    described = {
        "name": name,
        "hash": value_hash,
        "sources": [[list(sub[1:]), ch, list(path)] for sub, ch, path in sources if sub[0] == key],
    }
    uris = find_file_uris(value)
    if uris:
        described["files"] = uris
    return described
