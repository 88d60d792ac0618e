"""Writing an execution's record on a thread of its own, while the loop goes on.

The loop hands each finished batch to a :class:`StoreWriter`, which writes it with the
store's ``flush`` on its thread: the database does its work (SQLite's inserts and commit
release the GIL) while the loop reduces, hashes and submits the next calls.

- Batches are written one at a time, in the order handed over. A batch handed over is
  the writer's: the loop starts a new one and never touches it again.
- At most ``IN_FLIGHT`` batches are queued behind the one being written: when the writer
  is behind, the loop waits at the hand-off (memory stays flat however large the run).
- A batch that fails (a lock held past the busy timeout, a full disk, a driver error) is
  kept, with every batch after it, unwritten; its error is raised in the loop at the next
  hand-off or at :meth:`StoreWriter.wait`. The execution's end writes what is left on its
  own thread (:meth:`StoreWriter.finish`), so a failure in between never loses rows.

The contract this relies on: ``store.flush(batch)`` may be called from one thread other
than the loop's (its own connection; never concurrently with itself) while the loop's
thread reads the store (cache lookups) on other connections.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from bridge.native.store import WriteBatch

IN_FLIGHT = 1  # batches queued behind the one being written


class StoreWriter:
    def __init__(self, write: Callable[[WriteBatch], None]) -> None:
        self._write = write
        self._queue: queue.Queue[WriteBatch | None] = queue.Queue(IN_FLIGHT)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None  # set by the writer, raised by the loop
        self._unwritten: list[WriteBatch] = []  # the writer's: a failed batch and those after
        self._held: list[WriteBatch] = []  # the loop's: batches a Ctrl+C kept from the queue

    def put(self, batch: WriteBatch) -> None:
        """Hand ``batch`` over (waiting while the writer is behind); raises the error of a
        batch that failed since the last call."""
        if self._held:
            self._held.append(batch)
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="bridge-store-writer",
                                            daemon=True)
            self._thread.start()
        try:
            self._queue.put(batch)
        except BaseException:  # Ctrl+C while waiting: `finish` writes it
            self._held.append(batch)
            raise
        self._raise_error()

    def wait(self) -> None:
        """Return once every batch handed over is written; raise a write's error."""
        self._queue.join()
        self._raise_error()

    def finish(self, last: WriteBatch) -> None:
        """Wait for the writer and stop it, then write what is left on this thread: the
        batches kept after a failure (tried again: a lock may be free by now) and
        ``last``. Raises the first write that fails."""
        if self._thread is not None:
            self._queue.join()
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._error = None  # raised already, or superseded by the retry below
        left, self._unwritten, self._held = [*self._unwritten, *self._held, last], [], []
        for batch in left:
            self._write(batch)

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            try:
                if self._unwritten:
                    self._unwritten.append(batch)
                else:
                    self._write(batch)
            except BaseException as error:  # raised again in the loop
                self._error = error
                self._unwritten.append(batch)
            finally:
                self._queue.task_done()
        self._queue.task_done()
