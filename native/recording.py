"""What an execution writes to the call-graph store: its own row, job rows and their
statuses, cache entries, values, task sources and tags, gathered in a WriteBatch and
flushed every ``flush_interval`` while work runs (and every BATCH_JOBS job rows, finished
calls or values), and at the execution's end.

A job's row is written once, when the job ends, if it ends soon: a call that starts and
ends between two flushes (most calls of a fan-out, even of 100,000 calls) costs one
insert, not an insert and an update. A job still running gets its RUNNING row when the
loop has waited ``flush_interval`` with nothing to do, or once it has run
RUNNING_ROW_AFTER seconds, whichever comes first (``bridge log`` and ``bridge report``
then show it running). A value is written once per execution (one call's result is often
the next one's argument).

Each job row keeps what that job read and wrote (argument files with their hashes, the
result hash and result files), so a later execution that re-makes a file never rewrites
an earlier one's record. A dry run records nothing: not even large values.

Also here: the JSON form of the expression a parent's body returned (the IR from which
``bridge log`` derives dataflow and the adapters build their graphs)."""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.native import process
from bridge.native.bulk import JSONText, encode_json
from bridge.native.expression import (
    CallValue,
    Expression,
    GetAttr,
    GetItem,
    Operation,
    SpecialForm,
    TaskCall,
    contains_expression,
    record_fields,
)
from bridge.native.hashing import hash_parts, hash_value
from bridge.native.interrupts import interrupts_held
from bridge.native.job import DONE, FAILED
from bridge.native.schema import VERSION_PREFIX
from bridge.native.script import SCRIPT_TASK_NAME
from bridge.native.secrets import REDACTED
from bridge.native.store import CallGraphStore, WriteBatch

if TYPE_CHECKING:
    from bridge.native.job import Argument, Job


# Job rows, finished calls or values that make a batch be written before
# ``flush_interval``: a tick that starts or ends 100,000 calls writes as it goes, and
# memory stays flat. Each commit writes every page its rows touched in the tables'
# hash-keyed indexes; larger batches touch each page for more rows (measured at 100,000
# calls: 10,000 costs least, within the 250 MB memory target; see benchmarks.md).
BATCH_JOBS = 10_000
# Seconds a job runs before a flush while the loop is busy writes its RUNNING row (see
# the module's docstring): longer than the loop takes to start 100,000 calls in one tick,
# so that their rows are each written once, at their end.
RUNNING_ROW_AFTER = 30.0
# Value hashes an execution remembers having written, so that a value met again (a
# result passed on as the next call's argument) is not encoded and written twice;
# forgotten all at once past this many (memory stays bounded at 100,000 calls).
STORED_VALUES_KEPT = 20_000
# The options a job row keeps as its resources (when the call or its task sets them).
RESOURCE_OPTIONS = ("vcpus", "memory", "gpus", "image")
# The pieces of a returned expression's JSON text joined into one of its chunks.
CHUNK_PIECES = 4096


def _recorded_jobs_only(method: Callable) -> Callable:
    """A job of a ``prov=False`` task (or beneath one) leaves no record."""

    @functools.wraps(method)
    def guarded(self: Recorder, job: Job, *args: Any, **kwargs: Any) -> None:
        if job.prov:
            method(self, job, *args, **kwargs)

    return guarded


class Recorder:
    def __init__(self, store: CallGraphStore, execution_id: str, flush_interval: float,
                 dryrun: bool = False) -> None:
        self.store = store
        self.execution_id = execution_id
        self.flush_interval = flush_interval
        self.dryrun = dryrun
        self.batch = WriteBatch()
        self._recorded_tasks: set[str] = set()
        self._leaf_subtrees: dict[frozenset[str], tuple[JSONText, str]] = {}
        # Started jobs whose row is not written yet (``job.unwritten``), how many, and
        # the order they started in (with some written since, at their end).
        self._unwritten = 0
        self._start_order: deque[Job] = deque()
        self._stored_values: set[str] = set()
        self._last_flush = time.monotonic()
        self.write_failure: Exception | None = None  # see _added_rows

    # -- flushing ----------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything pending, running jobs' rows too (the loop found nothing to
        do, or the execution ends), a batch of at most BATCH_JOBS of them at a time.
        First it lets go of the remembered values (the execution's last flush is its
        peak of memory)."""
        self._stored_values = set()
        while True:
            self._write_running_rows(float("inf"))
            self._write_batch()
            if not self._unwritten:
                return

    def seconds_to_flush(self) -> float | None:
        """How long the loop may wait before the pending writes are due (None: nothing
        pending); writes first when they are already due (the rows of running jobs
        only once they have run RUNNING_ROW_AFTER: the loop is busy)."""
        if not (self.batch or self._unwritten):
            return None
        due = self.flush_interval - (time.monotonic() - self._last_flush)
        if due > 0:
            return due
        self._flush_due()
        return self.flush_interval if self._unwritten else None

    def _flush_due(self) -> None:
        self._write_running_rows(time.time() - RUNNING_ROW_AFTER)
        self._write_batch()

    def _write_batch(self) -> None:
        """Write the batch whole, or not at all (Ctrl+C waits until it is written)."""
        if self.dryrun:
            self.batch = WriteBatch()
        else:
            with interrupts_held():
                self.store.flush(self.batch)
                batch, self.batch = self.batch, WriteBatch()
            if len(self._stored_values) >= STORED_VALUES_KEPT:
                self._stored_values.clear()
            self._stored_values.update(batch.values)
        self._last_flush = time.monotonic()

    def _write_running_rows(self, started_before: float) -> None:
        """Give the batch the RUNNING rows of the jobs that started before
        ``started_before``, oldest first, up to BATCH_JOBS rows in the batch."""
        order, rows = self._start_order, self.batch.new_jobs
        while order and len(rows) < BATCH_JOBS:
            job = order[0]
            if job.unwritten and job.started > started_before:
                return
            order.popleft()
            self._write_row(job)

    def _write_row(self, job: Job) -> None:
        """Put the row of a started job in the batch: later changes fold into it while
        it is not flushed, and become updates after."""
        if not job.unwritten:
            return
        job.unwritten = False
        self._unwritten -= 1
        self.batch.new_jobs[job.id] = self._job_row(job)
        if not self._unwritten:  # let go of the ended jobs (the execution may drop them)
            self._start_order = deque()

    def _added_rows(self, rows: dict) -> None:
        """Write the batch once ``rows`` fill it. This happens while a call is made,
        replayed or ends: a failed write is not that call's failure. It is kept in
        ``write_failure``, which ends the execution at the loop's next step, and the
        batch is not tried again until the execution's last flush."""
        if len(rows) >= BATCH_JOBS and self.write_failure is None:
            try:
                self._flush_due()
            except Exception as error:
                self.write_failure = error

    # -- rows --------------------------------------------------------------------------

    def value(self, value_hash: str, value: Any, secret: bool = False) -> None:
        """A value to store; a secret one (an argument named or marked so) is stored
        with ``***`` as its preview, so listings never show it."""
        if self.dryrun or (value_hash in self._stored_values and not secret):
            return  # written by an earlier flush of this execution
        self.store.add_value(self.batch, value_hash, value)
        if secret:
            self.batch.values[value_hash]["preview"] = REDACTED
        self._added_rows(self.batch.values)  # a tick that starts 100,000 calls fills it

    def task(self, task: Any) -> None:
        if task.hash in self._recorded_tasks:
            return
        self._recorded_tasks.add(task.hash)
        self.batch.tasks[task.hash] = {
            "task_hash": task.hash,
            "fullname": task.fullname,
            "namespace": task.namespace,
            "source": task.source if task.version is None else f"{VERSION_PREFIX}{task.version}\n"
            + task.source,
        }

    def task_source(self, task_hash: str, source_hash: str, source: str,
                    accepted: float | None) -> None:
        """A source recorded with a pinned task's version (see bridge.native.drift)."""
        self.batch.task_sources[(task_hash, source_hash)] = {
            "task_hash": task_hash, "source_hash": source_hash, "source": source,
            "accepted": accepted}

    @_recorded_jobs_only
    def job_started(self, job: Job) -> None:
        """The job started running (or fails or is cancelled first): its row is written
        when it ends, or while it still runs (see the module's docstring)."""
        job.unwritten = True
        self._unwritten += 1
        self._start_order.append(job)

    @_recorded_jobs_only
    def job_replayed(self, job: Job, result_hash: str, result_files: list) -> None:
        row = self._job_row(job)
        row.update(ended=job.started, result_hash=result_hash,
                   result_files=result_files or None)
        self.batch.new_jobs[job.id] = row
        self._added_rows(self.batch.new_jobs)

    @_recorded_jobs_only
    def job_done(self, job: Job, result_hash: str, result_files: list, returned: Any) -> None:
        """The job's end, and the cache entry it leaves for later executions."""
        subtree_tasks, subtree_hash = self._subtree(job.subtree_tasks)
        now = time.time()
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
            "created": now,
        }
        self._change(job, status=DONE, ended=now, result_hash=result_hash,
                     result_files=result_files or None)
        self._added_rows(self.batch.calls)

    @_recorded_jobs_only
    def job_status(self, job: Job, status: str, error: str | None = None) -> None:
        if job.started == 0.0:  # it never started: no row yet
            job.started = time.time()
            self.job_started(job)
        self._change(job, status=status, ended=time.time(), error=error)

    def _change(self, job: Job, **changes: Any) -> None:
        self._write_row(job)
        self.batch.update_job(job.id, **changes)
        self._added_rows(self.batch.new_jobs)

    def _subtree(self, tasks: set[str] | frozenset[str]) -> tuple[list[str] | JSONText, str]:
        """The sorted task hashes of a subtree and their hash: a leaf's (its task's shared
        set) worked out, and encoded, once per task."""
        if type(tasks) is not frozenset:
            return _subtree_of(tasks)
        found = self._leaf_subtrees.get(tasks)
        if found is None:
            ordered, subtree_hash = _subtree_of(tasks)
            found = self._leaf_subtrees[tasks] = JSONText(encode_json(ordered)), subtree_hash
        return found

    def _job_row(self, job: Job) -> dict:
        return {
            "job_id": job.id,
            "execution_id": self.execution_id,
            "parent_id": job.parent.id if job.parent is not None else None,
            "call_hash": job.call_hash,
            "task_hash": job.task.hash,
            "task_name": job.task.fullname,
            "executor": job.executor_name,
            "status": job.status,
            "started": job.started,
            "ended": None,
            "error": None,
            "arguments": arguments_text(job.arguments),
            "tags": job.tags(),
            "result_hash": None,
            "result_files": None,
            "details": job_details(job),
        }

    @_recorded_jobs_only
    def job_output(self, job: Job, output: dict) -> None:
        """What the job's script printed (its stdout and stderr tails)."""
        self._change(job, details={**(job_details(job) or {}), **output})

    def execution(self, status: str, root_job_id: str | None, description: str,
                  started: float, tags: dict[str, str]) -> None:
        self.batch.executions[self.execution_id] = {
            "execution_id": self.execution_id,
            "root_job_id": root_job_id,
            "description": description,
            "status": status,
            "started": started,
            "ended": None if status == "RUNNING" else time.time(),
            "tags": tags,
            **process.current(),
        }

    def tags(self, kind: str, entity_id: str, tags: list[tuple[str, Any]]) -> None:
        for key, value in tags:
            self.batch.tags.append(
                {"entity_kind": kind, "entity_id": entity_id, "key": str(key), "value": str(value)}
            )


def arguments_text(arguments: tuple[Argument, ...]) -> JSONText:
    """A job row's ``arguments`` column: the JSON text of each argument's row, as
    ``json.dumps`` writes it. Most arguments came from no call and hold no file: theirs
    is formatted directly (the encoder took most of the time of binding a job's row); a
    hash is hex, nothing to escape."""
    texts = []
    for argument in arguments:
        if argument.sources or argument.files:
            texts.append(encode_json(argument.row()))
            continue
        name = _NAME_TEXTS.get(argument.name)
        if name is None:
            name = _NAME_TEXTS[argument.name] = encode_json(argument.name)
        texts.append(f'{{"name": {name}, "hash": "{argument.hash}", "sources": []}}')
    return JSONText(f"[{', '.join(texts)}]")


_NAME_TEXTS: dict[str, str] = {}  # a parameter's name as JSON text


def job_details(job: Job) -> dict | None:
    """The resources the call asked for and, for a script(), its whole command (its
    argument's preview is cut short): what `bridge report` shows beyond the call."""
    resources = {}
    if job.call_options or job.task.executor_options:  # neither set: no resource to find
        resources = {name: value for name in RESOURCE_OPTIONS
                     if (value := job.option(name)) is not None}
    details: dict[str, Any] = {"resources": resources} if resources else {}
    if job.task.fullname == SCRIPT_TASK_NAME and isinstance(job.kwargs.get("command"), str):
        details["command"] = job.kwargs["command"]
    return details or None


def _subtree_of(tasks: set[str] | frozenset[str]) -> tuple[list[str], str]:
    ordered = sorted(tasks)
    return ordered, hash_parts("subtree", ordered)


def serialize_expression(value: Any, recorder: Recorder,
                         job_of: Callable[[TaskCall], Job | None]) -> JSONText:
    """The JSON text of a returned expression: task calls become their call hashes,
    constants their value hashes (the values themselves are stored too). Written as text
    straight away (a parent returning 100,000 calls would otherwise hold a tree of dicts as
    large as its jobs), in chunks of CHUNK_PIECES pieces: one string of it all, joined
    while the jobs are still held, would take as much again (see JSONText)."""
    chunks: list[str] = []
    pieces: list[str] = []
    write = pieces.append

    def spill() -> None:
        if len(pieces) >= CHUNK_PIECES:
            chunks.append("".join(pieces))
            pieces.clear()

    def one(item: Any) -> None:
        if isinstance(item, Expression):
            node(item)
            return
        cls = type(item)
        if cls is list or cls is tuple:
            write(f'{{"{cls.__name__}": ')
            items(item)
            write("}")
        elif cls is dict:
            write('{"dict": [')
            for index, (key, item_value) in enumerate(item.items()):
                write(", [" if index else "[")
                one(key)
                write(", ")
                one(item_value)
                write("]")
                spill()
            write("]}")
        elif contains_expression(item):  # a dataclass or pydantic model with lazy fields
            write(f'{{"record": {encode_json(cls.__qualname__)}, "fields": ')
            keyed(record_fields(item) or {})
            write("}")
        else:
            value_hash = hash_value(item)
            recorder.value(value_hash, item)
            write(f'{{"value": "{value_hash}"}}')

    def items(values: Any) -> None:
        write("[")
        for index, item in enumerate(values):
            if index:
                write(", ")
            one(item)
            spill()
        write("]")

    def keyed(values: dict) -> None:
        write("{")
        for index, (key, item) in enumerate(values.items()):
            write(f", {encode_json(key)}: " if index else f"{encode_json(key)}: ")
            one(item)
            spill()
        write("}")

    task_texts: dict[str, str] = {}  # a fan-out's calls name one task: encoded once

    def call(expr: TaskCall) -> None:
        job = job_of(expr)
        name = expr.task.fullname
        task_text = task_texts.get(name)
        if task_text is None:
            task_text = task_texts[name] = encode_json(name)
        call_text = f'"{job.call_hash}"' if job else "null"  # hex: nothing to escape
        write(f'{{"call": {call_text}, "task": {task_text}, "args": ')
        if job is None or not _recorded_arguments(job, expr):
            items(expr.args)
            write(', "kwargs": ')
            keyed(expr.kwargs)
            write("}")
            return
        # The job hashed and recorded these very arguments when it was called.
        hashes = [f'{{"value": "{argument["hash"]}"}}' for argument in job.arguments]
        given = len(expr.args)
        kwargs = ", ".join(f"{encode_json(name)}: {text}"
                           for name, text in zip(expr.kwargs, hashes[given:], strict=True))
        write(f'[{", ".join(hashes[:given])}], "kwargs": {{{kwargs}}}}}')

    def node(expr: Expression) -> None:
        if isinstance(expr, TaskCall):
            call(expr)
        elif isinstance(expr, GetItem):
            write('{"getitem": [')
            one(expr.base)
            write(", ")
            one(expr.key)
            write("]}")
        elif isinstance(expr, GetAttr):
            write('{"getattr": [')
            one(expr.base)
            write(f", {encode_json(expr.name)}]}}")
        elif isinstance(expr, Operation | SpecialForm):
            head = "op" if isinstance(expr, Operation) else "form"
            name = expr.name if isinstance(expr, Operation) else expr.kind
            write(f'{{"{head}": {encode_json(name)}, "operands": ')
            items(expr.operands)
            write("}")
        elif isinstance(expr, CallValue):
            write('{"callvalue": ')
            one(expr.func)
            write(', "args": ')
            items(expr.args)
            write("}")
        else:
            raise TypeError(f"cannot record expression {expr!r}")

    one(value)
    return JSONText(*chunks, "".join(pieces))


def _recorded_arguments(job: Job, expr: TaskCall) -> bool:
    """Whether the job's recorded arguments are this expression's own, plain ones (not
    reduced, forked or completed from the context), their values stored already."""
    return (job.prov and job.status != FAILED and job.args is expr.args
            and job.kwargs is expr.kwargs)
