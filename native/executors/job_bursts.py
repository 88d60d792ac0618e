"""Gathering the calls that arrive together into one burst, so that a fan-out becomes
one array job instead of a job per call."""

from __future__ import annotations

import threading
import time

from bridge.native.executors.base import Work

SUBMIT_LINGER = 0.25  # seconds with no new call that end a burst of submissions
SUBMIT_GATHER_MAX = 2.0  # seconds a burst is gathered at most before it is submitted


class Bursts:
    """Work waiting to be submitted, handed out a burst at a time."""

    def __init__(self, stopping: threading.Event) -> None:
        self._stopping = stopping
        self._wake = threading.Condition()
        self._pending: list[Work] = []

    def put(self, work: Work) -> None:
        with self._wake:
            self._pending.append(work)
            self._wake.notify()

    def withdraw(self) -> list[str]:
        """Drop the work not yet handed out; returns its job ids."""
        with self._wake:
            withdrawn = [work.job_id for work in self._pending]
            self._pending.clear()
        return withdrawn

    def wake(self) -> None:
        """Wake a waiting :meth:`next` (to see that ``stopping`` is set)."""
        with self._wake:
            self._wake.notify_all()

    def next(self) -> list[Work]:
        """Wait for work, then for the burst it came in to end (no new call for
        SUBMIT_LINGER, or SUBMIT_GATHER_MAX in all), so that a fan-out submitted over
        several scheduler ticks, on a busy machine too, becomes one array job. Returns
        nothing when stopping."""
        with self._wake:
            while not self._pending and not self._stopping.is_set():
                self._wake.wait()
            deadline = time.monotonic() + SUBMIT_GATHER_MAX
            seen = -1
            while len(self._pending) != seen and not self._stopping.is_set():
                seen = len(self._pending)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._wake.wait(min(SUBMIT_LINGER, left))
            if self._stopping.is_set():
                return []
            works, self._pending = self._pending, []
        return works
