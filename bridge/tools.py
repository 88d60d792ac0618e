"""Workflow tools, as redun users import them from ``redun.tools``."""

from __future__ import annotations

from typing import TypeVar

from bridge.native.filetasks import copy_dir, copy_file
from bridge.native.task import namespace, task

T = TypeVar("T")

with namespace("bridge"):

    @task(version="1", cache=False)
    def debug_task(value: T) -> T:
        """Stop in the Python debugger (pdb) with ``value`` evaluated, then pass it on:
        ``x = debug_task(task1())`` is a breakpoint in the dataflow. Not cached, so it
        stops on every run; run the workflow in the foreground (threads executor)."""
        import pdb

        pdb.set_trace()
        return value


__all__ = ["copy_dir", "copy_file", "debug_task"]
