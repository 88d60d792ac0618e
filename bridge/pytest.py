"""A pytest plugin for testing workflows, as redun users use ``redun.pytest``: in a
``conftest.py`` (or the test file) write ``pytest_plugins = ["bridge.pytest"]``, then
take the ``scheduler`` fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.native.settings import SchedulerSettings
from bridge.native.task import registry
from bridge.scheduler import Scheduler

__all__ = ["Scheduler", "scheduler"]


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[Scheduler]:
    """A scheduler with its own empty store in the test's temporary folder (so nothing
    is cached from an earlier test or run), the default executor, and no bridge.ini.
    Tasks the test defines are forgotten when it ends, so two tests may each define a
    task of the same name."""
    before = registry.snapshot()
    with Scheduler(SchedulerSettings(config_dir=str(tmp_path / ".bridge"))) as sched:
        yield sched
    registry.restore(before)
