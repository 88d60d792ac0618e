"""A minimal promise whose callbacks run on the scheduler's loop, never on the stack of
whoever settles it: a chain of 1,000 nested calls settles without deep recursion."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

Callback = Callable[[Any], None]
Ready = deque  # of (callback, argument) pairs, drained by the scheduler loop


class Promise:
    __slots__ = ("_more", "_on_error", "_on_value", "_ready", "error", "state", "value")

    PENDING, RESOLVED, REJECTED = 0, 1, 2

    def __init__(self, ready: Ready) -> None:
        self._ready = ready
        # The first pair of callbacks sits in two slots and later pairs in a flat list
        # (on_value, on_error, ...): most promises get one or two pairs, and a
        # 100,000-call fan-out holds them all until its calls finish.
        self._on_value: Callback | None = None
        self._on_error: Callback | None = None
        self._more: list[Callback] | None = None
        self.state = Promise.PENDING
        self.value: Any = None
        self.error: BaseException | None = None

    def then(self, on_value: Callback, on_error: Callback) -> None:
        if self.state == Promise.PENDING:
            if self._on_value is None:
                self._on_value, self._on_error = on_value, on_error
            elif self._more is None:
                self._more = [on_value, on_error]
            else:
                self._more += (on_value, on_error)
        elif self.state == Promise.RESOLVED:
            self._ready.append((on_value, self.value))
        else:
            self._ready.append((on_error, self.error))

    def resolve(self, value: Any) -> None:
        if self.state != Promise.PENDING:
            return
        self.state, self.value = Promise.RESOLVED, value
        if self._on_value is not None:
            self._ready.append((self._on_value, value))
            more = self._more
            if more is not None and len(more) == 2:  # most often one more pair: a gather's
                self._ready.append((more[0], value))
            elif more is not None:
                self._ready.extend([(on_value, value) for on_value in more[::2]])
        self._forget_callbacks()

    def reject(self, error: BaseException) -> None:
        if self.state != Promise.PENDING:
            return
        self.state, self.error = Promise.REJECTED, error
        if self._on_error is not None:
            self._ready.append((self._on_error, error))
            if self._more is not None:
                self._ready.extend((on_error, error) for on_error in self._more[1::2])
        self._forget_callbacks()

    def _forget_callbacks(self) -> None:
        self._on_value = self._on_error = self._more = None


def resolved(ready: Ready, value: Any) -> Promise:
    promise = Promise(ready)
    promise.state, promise.value = Promise.RESOLVED, value
    return promise


def gather(ready: Ready, promises: list[Promise]) -> Promise:
    """Resolves with the list of values once all resolve; rejects at the first error.
    One counting callback serves every promise (a parent of 100,000 calls waits on them
    all): the values are read from the promises once the last one resolves."""
    combined = Promise(ready)
    if not promises:
        combined.resolve([])
        return combined
    remaining = [len(promises)]

    def settle_one(_value: Any) -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            combined.resolve([promise.value for promise in promises])

    for promise in promises:
        promise.then(settle_one, combined.reject)
    return combined
