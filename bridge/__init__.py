"""bridge: lazy tasks, graph reduction, call-graph caching and provenance.

Only the light parts load on ``import bridge``; the scheduler, the store (SQLAlchemy)
and the config (pydantic) load when first used.
"""

from __future__ import annotations

from bridge.lazy import lazy_getattr
from bridge.native.context import get_context
from bridge.native.control import (
    apply_tags,
    catch,
    cond,
    const,
    eval_,
    flatten,
    map_,
    seq,
    throw,
)
from bridge.native.current import get_current_scheduler, set_current_scheduler
from bridge.native.expression import Expression
from bridge.native.file import Dir, File

# The built-in tasks load with bridge, not on first use: a cache entry whose subtree called
# one is valid only while its task is defined (a body that ran `bridge.copy_file` once is
# replayed, not run, on the next run).
from bridge.native.filetasks import copy_dir, copy_file, glob_file
from bridge.native.handle import Handle, merge_handles
from bridge.native.script import script
from bridge.native.secrets import Secret
from bridge.native.settings import SchedulerSettings, register_settings_loader

# `bridge.task` is both a module (redun's `redun.task`) and the decorator: importing the
# module first, then binding the name, leaves `bridge.task` the decorator.
from bridge.task import (
    PartialTask,
    Task,
    get_current_namespace,
    get_task_registry,
    namespace,
    task,
)

__version__ = "0.1.0"
version = __version__

_LAZY = {
    "Scheduler": "bridge.scheduler",
    "run": "bridge.scheduler",
    "Config": "bridge.config",
}

__all__ = [
    "Config", "Dir", "Expression", "File", "Handle", "PartialTask", "Scheduler", "Secret", "Task",
    "apply_tags", "catch", "cond", "const", "copy_dir", "copy_file", "eval_", "flatten",
    "get_context", "get_current_namespace", "get_current_scheduler", "get_task_registry",
    "glob_file", "map_", "merge_handles", "namespace", "run", "script", "seq",
    "set_current_scheduler", "task", "throw",
]


def _load_settings(config_dir: str) -> SchedulerSettings:
    """bridge.ini's settings; a folder without one needs no validation (nor pydantic)."""
    from bridge.config_defaults import default_settings

    settings = default_settings(config_dir)
    if settings is not None:
        return settings
    from bridge.config import Config

    return Config.load(config_dir).to_settings()


register_settings_loader(_load_settings)

__getattr__ = lazy_getattr(globals(), _LAZY)
