"""A minimal promise whose callbacks run on the scheduler's loop, never on the stack of
whoever settles it: a chain of 1,000 nested calls settles without deep recursion."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

Callback = Callable[[Any], None]
Ready = deque  # of (callback, argument) pairs, drained by the scheduler loop


class Promise:
    __slots__ = ("_callbacks", "_ready", "error", "state", "value")

    PENDING, RESOLVED, REJECTED = 0, 1, 2

    def __init__(self, ready: Ready) -> None:
        self._ready = ready
        # on_value, on_error, on_value, on_error, ...: flat, not one pair each, as a
        # 100,000-call fan-out holds two pairs per call until its calls finish
        self._callbacks: list[Callback] | None = []
        self.state = Promise.PENDING
        self.value: Any = None
        self.error: BaseException | None = None

    def then(self, on_value: Callback, on_error: Callback) -> None:
        if self.state == Promise.PENDING:
            self._callbacks += (on_value, on_error)  # type: ignore[operator]
        elif self.state == Promise.RESOLVED:
            self._ready.append((on_value, self.value))
        else:
            self._ready.append((on_error, self.error))

    def resolve(self, value: Any) -> None:
        if self.state != Promise.PENDING:
            return
        self.state, self.value = Promise.RESOLVED, value
        callbacks, self._callbacks = self._callbacks, None
        self._ready.extend((on_value, value) for on_value in callbacks[::2])  # type: ignore[index]

    def reject(self, error: BaseException) -> None:
        if self.state != Promise.PENDING:
            return
        self.state, self.error = Promise.REJECTED, error
        callbacks, self._callbacks = self._callbacks, None
        self._ready.extend((on_error, error) for on_error in callbacks[1::2])  # type: ignore[index]


def resolved(ready: Ready, value: Any) -> Promise:
    promise = Promise(ready)
    promise.state, promise.value = Promise.RESOLVED, value
    promise._callbacks = None
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
