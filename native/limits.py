"""Named resources a run has a fixed number of (``[limits]`` in bridge.ini), which calls
take with ``limits=`` while they run. A resource not configured has one."""

from __future__ import annotations


class Limits:
    def __init__(self, configured: dict[str, int]) -> None:
        self.available = dict(configured)

    def acquire(self, wants: dict[str, int]) -> bool:
        """Take what a call wants, all or nothing; False when some is not free now."""
        available = self.available
        if any(available.setdefault(name, 1) < count for name, count in wants.items()):
            return False
        for name, count in wants.items():
            available[name] -= count
        return True

    def release(self, wants: dict[str, int]) -> None:
        for name, count in wants.items():
            self.available[name] += count
