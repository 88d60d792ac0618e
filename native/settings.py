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

    def resolved_value_store(self) -> str | None:
        """``value_store`` as given; for a server database, ``<config_dir>/values`` (not the
        working directory's: one config run from anywhere finds its values). A SQLite store
        keeps its values beside its database file (None here)."""
        if self.value_store or self.resolved_db_uri().startswith("sqlite"):
            return self.value_store
        return str((Path(self.config_dir) / "values").resolve())

    def resolved_db_uri(self) -> str:
        if self.db_uri:
            return self.db_uri
        return "sqlite:///" + str((Path(self.config_dir) / "bridge.db").resolve())
