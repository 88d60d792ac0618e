"""The local executor: a pool of threads, or of processes for CPU-bound Python, that
runs calls while their share of its cores and memory fits (:mod:`.capacity`)."""

from __future__ import annotations

import os
import queue
import signal
import threading
from typing import TYPE_CHECKING, Any

from bridge.native.awaiting import set_share_hooks
from bridge.native.children import Children, own_children, terminate_children
from bridge.native.executors.base import Executor, Report, Work
from bridge.native.executors.capacity import (
    DEFAULT_SHARE,
    Capacity,
    CapacityError,
    Limit,
    Share,
    as_number,
    machine_cores,
    machine_memory,
)
from bridge.native.runner import Outcome, dump_outcome, load_outcome, run_body

if TYPE_CHECKING:  # the process pool's modules load with the first process call
    from concurrent.futures import Future, ProcessPoolExecutor

DEFAULT_THREADS = 20
_STOP = None


class LocalExecutor(Executor):
    """Options: ``mode = threads|processes``, ``max_workers`` (threads or processes at
    most), ``cores`` and ``memory`` (GiB; default: the machine's), and ``run_cores``, the
    cap the scheduler sets for one run (``bridge run --cores``)."""

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
        self.capacity: Capacity[Work | _Turn] = Capacity(
            _cores(name, options), _limit(name, options, "memory", machine_memory(),
                                          "the machine's memory"))
        # Threads: the calls whose share is taken, in the order they were admitted.
        self._queue: queue.SimpleQueue[tuple[Work, Share] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # threads not running a body, less the calls queued for them
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[str, Future] = {}  # process mode: submitted, not yet reported
        self._report: Report | None = None
        self._children = Children()  # the scripts its threads run, and only those

    def start(self, report: Report) -> None:
        self._report = report

    def submit(self, work: Work) -> None:
        try:
            share = self.capacity.share(work.options, work.task.fullname, self.name)
        except CapacityError as error:  # it could never start: say so now
            assert self._report is not None
            self._report(Outcome(work.job_id, False, error=error))
            return
        if self.capacity.admit(share, work):  # else it waits its turn in the capacity
            self._start(work, share)

    def _start(self, work: Work, share: Share) -> None:
        """Run a call whose share is taken: in a worker process, or on a worker thread."""
        if self.mode == "processes":
            self._submit_process(work, share)
            return
        self._queue.put((work, share))
        with self._lock:  # each queued call has a thread of its own (up to max_workers):
            # a body awaiting a call queued behind it must not hold the only thread
            if self._idle == 0 and len(self._threads) < self.max_workers:
                thread = threading.Thread(
                    target=self._work_loop, name=f"bridge-{self.name}-{len(self._threads)}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()
            else:
                self._idle -= 1  # the call claims an idle thread

    def _release(self, share: Share) -> None:
        """Give a share back and start what waited for it."""
        for admitted, item in self.capacity.release(share):
            if isinstance(item, _Turn):
                item.go()
            else:
                self._start(item, admitted)

    def _work_loop(self) -> None:
        report = self._report
        assert report is not None
        own_children(self._children)
        held = [DEFAULT_SHARE]  # the share of the body this thread runs
        set_share_hooks(lambda: self._release(held[0]), lambda: self._wait_turn(held[0]))
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            work, share = item
            held[0] = share
            outcome = run_body(work.job_id, work.task.func, work.args, work.body_kwargs())
            with self._lock:
                self._idle += 1
            # The calls its share lets start are queued, this thread idle for them: it
            # takes the next call itself, with no other thread woken (one per call cost a
            # switch of threads and of the GIL).
            self._release(share)
            report(outcome)

    def _wait_turn(self, share: Share) -> None:
        """A body back from an ``await`` waits its turn among the calls for its share."""
        turn = _Turn()
        if not self.capacity.admit(share, turn):
            turn.wait()

    def _submit_process(self, work: Work, share: Share) -> None:
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                self.max_workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker_process,
            )
        future = self._pool.submit(_run_in_process, work.job_id, work.task, work.args,
                                   work.body_kwargs())
        with self._lock:
            self._futures[work.job_id] = future
        future.add_done_callback(
            lambda f, job_id=work.job_id: self._report_future(job_id, share, f))

    def _report_future(self, job_id: str, share: Share, future: Future) -> None:
        assert self._report is not None
        with self._lock:
            self._futures.pop(job_id, None)
        self._release(share)
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
        waiting = [item.job_id for item in self.capacity.withdraw(_is_call)]
        with self._lock:
            futures = list(self._futures.items())
        withdrawn = [job_id for job_id, future in futures if future.cancel()]
        queued = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                queued.append(item)
        with self._lock:
            self._idle += len(queued)  # the threads those calls had claimed are free
        for _, share in queued:  # their shares were taken: bodies back from an await
            self._release(share)  # may wait for them
        return waiting + withdrawn + [work.job_id for work, _ in queued]

    def stop(self) -> None:
        """Bodies still running now were interrupted: threads cannot be stopped, but the
        scripts they run can; worker processes are terminated (and stop their scripts)."""
        for item in self.capacity.withdraw():
            if isinstance(item, _Turn):  # a body back from an await goes on
                item.go()
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


class _Turn:
    """A worker thread whose body, back from an ``await``, waits for its share."""

    __slots__ = ("_ready",)

    def __init__(self) -> None:
        self._ready = threading.Lock()  # held until its turn comes (cheaper than an Event)
        self._ready.acquire()

    def wait(self) -> None:
        self._ready.acquire()

    def go(self) -> None:
        """Its turn has come (or the executor stops): once, by whoever decides it."""
        self._ready.release()


def _is_call(item: Work | _Turn) -> bool:
    return isinstance(item, Work)


def _limit(name: str, options: dict[str, Any], key: str, machine: float,
           machine_source: str) -> Limit:
    value = options.get(key)
    if value is None:
        return Limit(machine, machine_source)
    amount = as_number(value)
    if not amount > 0:  # NaN too
        raise ValueError(f"executor {name}: {key} must be a positive number, not {value!r}")
    return Limit(amount, f"set in [executors.{name}]")


def _cores(name: str, options: dict[str, Any]) -> Limit:
    """The configured cores (else the machine's), capped by the run's (``--cores``)."""
    cores = _limit(name, options, "cores", machine_cores(), "this machine's CPU count")
    run_cores = options.get("run_cores")
    if run_cores is None:
        return cores
    if options.get("cores") is not None and cores.amount <= run_cores:
        return cores  # a section that asks for fewer keeps to them
    return Limit(float(run_cores), "this run's --cores")


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
