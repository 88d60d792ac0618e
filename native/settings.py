"""Plain settings the engine runs on; `bridge.config` builds them from bridge.ini."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.native.file_identity import DEFAULT_CONTENT_LIMIT

DEFAULT_DIR = ".bridge"


@dataclass
class ExecutorSettings:
    type: str = "local"
    options: dict[str, Any] = field(default_factory=dict)


REDUN_PROCESS_WORKERS = 20  # the size of redun's built-in process pool


def builtin_executors() -> dict[str, ExecutorSettings]:
    """The executors a project has without configuring any, under redun's names:
    ``default`` (a pool of threads) and ``process`` (a pool of worker processes, as many
    as redun's, so its examples take the time they take on redun). An
    ``[executors.NAME]`` section of the same name replaces one."""
    return {"default": ExecutorSettings(),
            "process": ExecutorSettings(options={"mode": "processes",
                                                 "max_workers": REDUN_PROCESS_WORKERS})}


@dataclass
class SchedulerSettings:
    db_uri: str | None = None  # None: SQLite at <config_dir>/bridge.db
    config_dir: str = DEFAULT_DIR
    value_store: str | None = None  # None: <config_dir>/values (or beside the database)
    inline_limit: int = 64 * 1024
    executors: dict[str, ExecutorSettings] = field(default_factory=builtin_executors)
    limits: dict[str, int] = field(default_factory=dict)
    flush_interval: float = 0.5
    # At most this many cores for each local executor (`bridge run --cores`); None: each
    # has its configured cores, else the machine's.
    cores: float | None = None
    # What get_context() sees at the top of each execution ([context] in bridge.ini).
    context: dict[str, Any] = field(default_factory=dict)
    # Local files up to this many bytes are identified by a sha256 of their content.
    content_hash_limit: int = DEFAULT_CONTENT_LIMIT

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


SettingsLoader = Callable[[str], SchedulerSettings]
_settings_loader: SettingsLoader | None = None


def register_settings_loader(loader: SettingsLoader) -> None:
    """How a config folder becomes settings: ``bridge`` registers its bridge.ini reader
    (pydantic lives there, not in the engine), so code below it, such as the adapters,
    can load a project's settings without importing upwards."""
    global _settings_loader
    _settings_loader = loader


def load_settings(config_dir: str | os.PathLike | None = None) -> SchedulerSettings:
    """The settings of ``config_dir`` (default ``BRIDGE_CONFIG``, else ``.bridge``), read
    by the registered loader; the engine's defaults for that folder without one."""
    directory = str(config_dir or os.environ.get("BRIDGE_CONFIG") or DEFAULT_DIR)
    if _settings_loader is None:
        return SchedulerSettings(config_dir=directory)
    return _settings_loader(directory)
