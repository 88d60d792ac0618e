"""A failed call's error with the frames of the user's code (redun's ``Traceback``)."""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator
from traceback import FrameSummary
from typing import Any

import bridge.native

# bridge's own code: its front door and its engine (folders apart in a source checkout)
_OWN_FOLDERS = tuple(os.path.dirname(os.path.abspath(path)) + os.sep
                     for path in (__file__, bridge.native.__file__))


class Traceback:
    """``Traceback.from_error(error)``: the error and the stack frames it went through,
    bridge's own frames (the scheduler, the executors) left out."""

    def __init__(self, error: Any, frames: list[FrameSummary],
                 logs: list[str] | None = None) -> None:
        self.error = error
        self.frames = frames
        self.logs = list(logs or [])

    @classmethod
    def from_error(cls, error: BaseException, trim_frames: bool = True) -> Traceback:
        frames = list(traceback.extract_tb(error.__traceback__))
        return cls(error, cls.trim_frames(frames) if trim_frames else frames)

    @classmethod
    def trim_frames(cls, frames: list[FrameSummary]) -> list[FrameSummary]:
        """The frames outside bridge's own code."""
        return [frame for frame in frames
                if not os.path.abspath(frame.filename).startswith(_OWN_FOLDERS)]

    def format(self) -> Iterator[str]:
        """The traceback as text lines, the error last."""
        yield "Traceback (most recent call last):\n"
        yield from traceback.format_list(self.frames)
        yield from traceback.format_exception_only(type(self.error), self.error)

    def __repr__(self) -> str:
        return f"Traceback({self.error!r}, {len(self.frames)} frame(s))"
