"""The public Scheduler: the engine's, configured from bridge.ini when given a Config."""

from __future__ import annotations

import os
from typing import Any

from bridge.native.scheduler import Scheduler as NativeScheduler
from bridge.native.settings import SchedulerSettings
from bridge.threads import Thread, fork_thread, join_thread  # noqa: F401  (redun's names)


class Scheduler(NativeScheduler):
    """``Scheduler()`` uses ``.bridge/`` in the working directory (or ``BRIDGE_CONFIG``);
    ``Scheduler(config=Config.load(dir))`` or ``Scheduler(config={...})`` configure it."""

    def __init__(self, config: Any = None, *, db_uri: str | None = None) -> None:
        super().__init__(_settings(config), db_uri=db_uri or os.environ.get("BRIDGE_DB_URI"))


def _settings(config: Any) -> SchedulerSettings:
    from bridge.config import Config

    if isinstance(config, SchedulerSettings):
        return config
    if config is None:
        return Config.load().to_settings()
    if isinstance(config, dict):
        return Config.model_validate(config).to_settings()
    if isinstance(config, Config):
        return config.to_settings()
    raise TypeError(f"Scheduler(config=...) takes a Config, a dict or None, not {type(config)}")
