"""Ctrl+C held back while the record is written: a write batch is one transaction, and a
KeyboardInterrupt raised in the middle of its flush would drop the whole batch (thousands
of job rows) from the record, or land between its commit and the caller learning of it."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Run the block with SIGINT recorded rather than acted on; a SIGINT that came is
    handed to the handler it was meant for when the block ends. Only the main thread
    receives signals: elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[FrameType | None] = []
    previous = signal.signal(signal.SIGINT, lambda _signum, frame: received.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(signal.SIGINT, received[0])
