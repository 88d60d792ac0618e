"""The local executor: a pool of threads, or of processes for CPU-bound Python."""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from bridge.native.children import Children, own_children, terminate_children
from bridge.native.executors.base import Executor, Report, Work
from bridge.native.runner import Outcome, dump_outcome, load_outcome, run_body

DEFAULT_THREADS = 20
_STOP = None


class LocalExecutor(Executor):
    """Options: ``mode = threads|processes`` and ``max_workers``."""

    def __init__(self, name: str = "default", options: dict[str, Any] | None = None) -> None:
        options = options or {}
        super().__init__(name, options)
        self.mode = options.get("mode", "threads")
        if self.mode not in ("threads", "processes"):
            raise ValueError(
                f"executor {name}: mode must be threads or processes, not {self.mode!r}"
            )
        default_workers = DEFAULT_THREADS if self.mode == "threads" else os.cpu_count() or 2
        self.max_workers = int(options.get("max_workers", default_workers))
        self._queue: queue.SimpleQueue[Work | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[str, Future] = {}  # process mode: submitted, not yet reported
        self._report: Report | None = None
        self._children = Children()  # the scripts its threads run, and only those

    def start(self, report: Report) -> None:
        self._report = report

    def submit(self, work: Work) -> None:
        if self.mode == "processes":
            self._submit_process(work)
            return
        self._queue.put(work)
        with self._lock:
            if self._idle == 0 and len(self._threads) < self.max_workers:
                thread = threading.Thread(
                    target=self._work_loop, name=f"bridge-{self.name}-{len(self._threads)}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()
            else:
                self._idle -= 1  # the work item claims an idle thread

    def _work_loop(self) -> None:
        report = self._report
        assert report is not None
        own_children(self._children)
        while True:
            work = self._queue.get()
            if work is _STOP:
                return
            report(run_body(work.job_id, work.task.func, work.args, work.kwargs))
            with self._lock:
                self._idle += 1

    def _submit_process(self, work: Work) -> None:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.max_workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker_process,
            )
        future = self._pool.submit(_run_in_process, work.job_id, work.task, work.args, work.kwargs)
        with self._lock:
            self._futures[work.job_id] = future
        future.add_done_callback(lambda f, job_id=work.job_id: self._report_future(job_id, f))

    def _report_future(self, job_id: str, future: Future) -> None:
        assert self._report is not None
        with self._lock:
            self._futures.pop(job_id, None)
        if future.cancelled():
            return
        try:
            outcome = load_outcome(future.result(), job_id)
        except BaseException as error:  # the pool broke, or the outcome did not unpickle
            outcome = Outcome(job_id, False, error=error, traceback=repr(error))
        else:
            if outcome.error is not None and outcome.traceback:
                outcome.error.add_note(outcome.traceback)  # for a caller that sees it raised
        self._report(outcome)

    def cancel_pending(self) -> list[str]:
        with self._lock:
            futures = list(self._futures.items())
        withdrawn = [job_id for job_id, future in futures if future.cancel()]
        queued = []
        while True:
            try:
                work = self._queue.get_nowait()
            except queue.Empty:
                break
            if work is not _STOP:
                queued.append(work.job_id)
        with self._lock:
            self._idle += len(queued)  # the threads those items had claimed are free
        return withdrawn + queued

    def stop(self) -> None:
        """Bodies still running now were interrupted: threads cannot be stopped, but the
        scripts they run can; worker processes are terminated (and stop their scripts)."""
        for _ in self._threads:
            self._queue.put(_STOP)
        self._threads.clear()
        self._idle = 0
        self._children.terminate()
        if self._pool is not None:
            with self._lock:
                interrupted = bool(self._futures)
            # the pool forgets its processes on shutdown: take them first
            workers = list((getattr(self._pool, "_processes", None) or {}).values())
            self._pool.shutdown(wait=not interrupted, cancel_futures=True)
            if interrupted:
                for worker in workers:
                    worker.terminate()
            self._pool = None


def _init_worker_process() -> None:
    """Ctrl+C in a terminal reaches the whole process group: leave it to the scheduler,
    which terminates the workers; a terminated worker stops its scripts first."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_terminate)


def _on_terminate(signum: int, frame: Any) -> None:
    terminate_children()
    os._exit(128 + signum)


def _run_in_process(job_id: str, task: Any, args: tuple, kwargs: dict) -> bytes:
    """Run the body in a worker; its outcome pickled here, so that an error or a value
    that does not pickle is reported as such rather than as the pool's pickling error."""
    outcome = run_body(job_id, task.func, args, kwargs)
    return dump_outcome(outcome, task.fullname, "its worker process (mode = processes)")
