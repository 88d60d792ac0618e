"""Every bridge job as a Prefect task run.

The mirror is both the execution's listener (it learns each job's task, call hash,
parent and upstream calls) and the wrapper of each executor the scheduler starts
(``Scheduler.wrap_executors``). A job the scheduler submits becomes a Prefect task run:

- on bridge's local executor in threads mode, the body runs inside the task run, on the
  flow's own task runner (so ``get_run_logger()`` and ``prefect.runtime`` work in it);
- on any other executor (docker, aws_batch, local processes) bridge's executor runs it,
  and the task run waits for its outcome, on a thread pool of the mirror's own.

A task run waits for (``wait_for``) the task runs of the job's parent and of the calls
its arguments came from, so Prefect's graph shows bridge's edges. Retries are Prefect's
(the task run goes AwaitingRetry, then Retrying); the outcome tells bridge how many were
made. A cache hit is a task run in state Cached that runs nothing (a replayed parent is
one task run: its subtree is not visited). Prefect's own result
cache and persistence are off: bridge's store is the source of truth.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from prefect import Task, allow_failure, get_run_logger
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.futures import PrefectFuture, wait
from prefect.runtime import task_run as current_task_run
from prefect.states import Cancelled, Completed, State
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from bridge.native.children import Children, own_children
from bridge.native.executors.base import Executor, Report, Work
from bridge.native.executors.local import LocalExecutor
from bridge.native.job import CACHED, PENDING, Job
from bridge.native.runner import Outcome, run_body
from bridge.native.script import on_script_output

PREVIEW_CHARS = 60
SCRIPT_LOG_LINES = 200  # of a script's stdout and of its stderr, copied to the task run
FINAL_WAIT_SECONDS = 60.0  # for task runs to settle once the execution has ended
STOPPED_WAIT_SECONDS = 5.0  # ... once it was stopped (a body in a thread may run on)


class TaskRunMirror:
    """Mirrors one execution's jobs into task runs of the current flow run."""

    def __init__(self, body_runner: TaskRunner) -> None:
        self._body_runner = body_runner  # the flow's task runner: runs local bodies
        self._waiting_runner = ThreadPoolTaskRunner()  # waits on bridge's executors
        self._jobs: dict[str, Job] = {}
        self._futures: dict[str, PrefectFuture] = {}  # by call hash
        self._tasks: dict[tuple, Task] = {}
        self.stopped = False  # set when the execution stopped its executors

    def __enter__(self) -> TaskRunMirror:
        self._waiting_runner.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        wait(list(self._futures.values()),
             timeout=STOPPED_WAIT_SECONDS if self.stopped else FINAL_WAIT_SECONDS)
        self._waiting_runner.__exit__(*exc_info)

    def on_job(self, job: Job, status: str) -> None:
        """The execution's listener (called on the execution's thread)."""
        if status == PENDING:
            self._jobs[job.id] = job
        elif status == CACHED:
            self._start(job, self._replayed, self._waiting_runner, retries=0)

    def wrap(self, executor: Executor) -> Executor:
        return MirroredExecutor(executor, self)

    def start_run(self, work: Work, executor: MirroredExecutor) -> None:
        runner = self._body_runner if executor.runs_bodies_here else self._waiting_runner
        self._start(self._jobs[work.job_id], executor.run_attempt, runner, retries=work.retries)

    def _replayed(self, job_id: str) -> State:
        job = self._jobs[job_id]
        tag_this_run(job.executor_name, job.call_hash)
        return Completed(name="Cached", message="replayed from bridge's cache")

    def _start(self, job: Job, fn: Callable[[str], Any], runner: TaskRunner, *,
               retries: int) -> None:
        task = self._prefect_task(job, fn, retries)
        upstream = job.upstream_call_hashes()
        if job.parent is not None:
            upstream.append(job.parent.call_hash)
        wait_for = [allow_failure(self._futures[h]) for h in upstream if h in self._futures]
        self._futures[job.call_hash] = runner.submit(task, {"job_id": job.id},
                                                     wait_for=wait_for)


    def _prefect_task(self, job: Job, fn: Callable[[str], Any], retries: int) -> Task:
        """One Prefect task per bridge task, function and retry count, made once: the
        execution's thread submits every job, and time spent there holds them all up."""
        key = (job.task.hash, fn, retries)
        task = self._tasks.get(key)
        if task is None:
            task = Task(fn=fn, name=job.task.fullname, task_run_name=self._run_name,
                        cache_policy=NO_CACHE, persist_result=False, retries=retries,
                        log_prints=True)
            task.task_key = f"{job.task.fullname}-{job.task.hash[:12]}"  # bridge's identity
            self._tasks[key] = task
        return task

    def _run_name(self, parameters: dict[str, Any]) -> str:
        """The task run's name, worked out in the task run's own thread."""
        return run_name(self._jobs[parameters["job_id"]])


class MirroredExecutor(Executor):
    """Wraps one of bridge's executors so that each job it gets runs in a task run."""

    def __init__(self, inner: Executor, mirror: TaskRunMirror) -> None:
        super().__init__(inner.name, inner.options)
        self.inner = inner
        self.mirror = mirror
        self.runs_bodies_here = isinstance(inner, LocalExecutor) and inner.mode == "threads"
        self._report: Report | None = None
        self._work: dict[str, Work] = {}  # submitted, until bridge hears its outcome
        self._queued: set[str] = set()  # submitted, its task run not yet started
        self._withdrawn: set[str] = set()
        self._waiting: dict[str, queue.SimpleQueue[Outcome | None]] = {}
        self._children = Children()  # the scripts its task runs start
        self._lock = threading.Lock()
        self._stopped = False

    def start(self, report: Report) -> None:
        self._report = report
        if not self.runs_bodies_here:
            self.inner.start(self._route)

    def submit(self, work: Work) -> None:
        self._work[work.job_id] = work
        with self._lock:
            self._queued.add(work.job_id)
        self.mirror.start_run(work, self)

    def run_attempt(self, job_id: str) -> State | None:
        """The task run's function: one attempt at the job; raising lets Prefect retry."""
        work = self._work[job_id]
        with self._lock:
            if job_id in self._withdrawn:
                return Cancelled(message="bridge withdrew this job before it started")
            self._queued.discard(job_id)
        tag_this_run(self.name, work.call_hash)
        if self.runs_bodies_here:
            outcome = self._run_here(work)
        else:  # (for a local body this line would cost a third of the run: log handlers lock)
            get_run_logger().info(f"bridge job {job_id[:8]}, call {work.call_hash[:12]}, on "
                                  f"executor {self.name!r} ({type(self.inner).__name__})")
            outcome = self._run_inner(work)
        if outcome is None or self._stopped:
            return Cancelled(message="the bridge execution was stopped")
        attempt = current_task_run.run_count
        if outcome.ok or attempt > work.retries:  # final: bridge hears of it
            outcome.retried = attempt - 1
            assert self._report is not None
            self._report(outcome)
            del self._work[job_id]
        if not outcome.ok:
            assert outcome.error is not None
            raise outcome.error
        return None

    def _run_here(self, work: Work) -> Outcome:
        own_children(self._children)
        on_script_output(_log_script_output)
        return run_body(work.job_id, work.task.func, work.args, work.body_kwargs())

    def _run_inner(self, work: Work) -> Outcome | None:
        waiter: queue.SimpleQueue[Outcome | None] = queue.SimpleQueue()
        with self._lock:
            self._waiting[work.job_id] = waiter
        self.inner.submit(work)
        return waiter.get()

    def _route(self, outcome: Outcome) -> None:
        with self._lock:
            waiter = self._waiting.pop(outcome.job_id, None)
        if waiter is not None:
            waiter.put(outcome)

    def cancel_pending(self) -> list[str]:
        withdrawn = [] if self.runs_bodies_here else self.inner.cancel_pending()
        with self._lock:
            not_started, self._queued = list(self._queued), set()
            self._withdrawn.update(not_started)
            waiters = [self._waiting.pop(job_id, None) for job_id in withdrawn]
        for waiter in waiters:
            if waiter is not None:
                waiter.put(None)
        return not_started + withdrawn

    def stop(self) -> None:
        self._stopped = self.mirror.stopped = True
        self._children.terminate()
        if not self.runs_bodies_here:
            self.inner.stop()
        with self._lock:
            waiters, self._waiting = list(self._waiting.values()), {}
        for waiter in waiters:
            waiter.put(None)


def _log_script_output(stdout: str, stderr: str) -> None:
    logger = get_run_logger()
    for name, text in (("stdout", stdout), ("stderr", stderr)):
        lines = text.splitlines()
        if lines:
            shown = "\n".join(lines[-SCRIPT_LOG_LINES:])
            cut = f" (last {SCRIPT_LOG_LINES} of {len(lines)} lines)" \
                if len(lines) > SCRIPT_LOG_LINES else ""
            logger.info(f"script {name}{cut}:\n{shown}")


def tag_this_run(executor: str, call_hash: str) -> None:
    """Tag the running task run with bridge's executor and call hash. Tags given to the
    Task would make Prefect's engine ask the API for tag concurrency slots before every
    run: on a SQLite-backed server those requests collide and back off by seconds (200
    tasks: 73 s instead of 4 s). Set once the run has started, they reach the server with
    its next state, and Prefect's tag concurrency limits do not apply to bridge's jobs
    (bridge's own [limits] do)."""
    context = TaskRunContext.get()
    assert context is not None
    context.task_run.tags = ["bridge", f"executor:{executor}", f"call:{call_hash}"]


def run_name(job: Job) -> str:
    """``count_words[3fa2c1d0](path='a.txt', n=3)``: the call hash, then the arguments."""
    shown = [repr(arg) for arg in job.args]
    shown += [f"{name}={value!r}" for name, value in job.kwargs.items()]
    preview = ", ".join(shown)
    if len(preview) > PREVIEW_CHARS:
        preview = preview[:PREVIEW_CHARS - 3] + "..."
    return f"{job.task.name}[{job.call_hash[:8]}]({preview})"
