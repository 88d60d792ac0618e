"""Stateful resources passed through tasks (redun's ``redun.handle``)."""

from bridge.native.handle import Handle, HandleInfo, merge_handles

__all__ = ["Handle", "HandleInfo", "merge_handles"]
