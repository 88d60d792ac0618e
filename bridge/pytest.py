"""A pytest plugin for testing workflows, as redun users use ``redun.pytest``: its
``scheduler`` fixture is found in any test once bridge is installed (the plugin is
registered with pytest), or with ``pytest_plugins = ["bridge.pytest"]``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bridge.lazy import lazy_getattr

if TYPE_CHECKING:
    from bridge.scheduler import Scheduler

__all__ = ["Scheduler", "scheduler"]


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[Scheduler]:
    """A scheduler with its own empty store in the test's temporary folder (so nothing
    is cached from an earlier test or run), the default executor, and no bridge.ini.
    Tasks the test defines are forgotten when it ends, so two tests may each define a
    task of the same name."""
    from bridge.native.settings import SchedulerSettings
    from bridge.native.task import registry
    from bridge.scheduler import Scheduler

    before = registry.snapshot()
    try:
        with Scheduler(SchedulerSettings(config_dir=str(tmp_path / ".bridge"))) as sched:
            yield sched
    finally:
        registry.restore(before)


# `from bridge.pytest import Scheduler`, without loading the store on pytest's start
__getattr__ = lazy_getattr(globals(), {"Scheduler": "bridge.scheduler"})
