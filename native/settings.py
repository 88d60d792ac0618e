"""Plain settings the engine runs on; `bridge.config` builds them from bridge.ini."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_DIR = ".bridge"


@dataclass
class ExecutorSettings:
    type: str = "local"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class SchedulerSettings:
    db_uri: str | None = None  # None: SQLite at <config_dir>/bridge.db
    config_dir: str = DEFAULT_DIR
    value_store: str | None = None  # None: <config_dir>/values (or beside the database)
    inline_limit: int = 64 * 1024
    executors: dict[str, ExecutorSettings] = field(
        default_factory=lambda: {"default": ExecutorSettings()}
    )
    limits: dict[str, int] = field(default_factory=dict)
    flush_interval: float = 0.5

    def resolved_db_uri(self) -> str:
        if self.db_uri:
            return self.db_uri
        return "sqlite:///" + str((Path(self.config_dir) / "bridge.db").resolve())
