"""The public Scheduler (the engine's, configured from bridge.ini when given a Config),
and what redun users import from ``redun.scheduler``: the current scheduler, the running
job's ``JobInfo``, ``Traceback`` and the control-flow forms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.lazy import lazy_getattr
from bridge.native.control import apply_tags, catch, cond, seq, throw
from bridge.native.current import NoCurrentScheduler, get_current_scheduler, set_current_scheduler
from bridge.native.executors.base import Executor
from bridge.native.job_info import JobInfo
from bridge.native.scheduler import Scheduler as NativeScheduler
from bridge.native.settings import SchedulerSettings, load_settings

if TYPE_CHECKING:
    from bridge.failure import Traceback
    from bridge.threads import Thread, fork_thread, join_thread  # noqa: F401  (redun's names)

__all__ = [
    "DryRunResult", "JobInfo", "NoCurrentScheduler", "Scheduler", "Traceback", "apply_tags",
    "catch", "cond", "get_current_scheduler", "run", "seq", "set_current_scheduler", "throw",
]

_schedulers: dict[str | None, Scheduler] = {}

# redun's names a run does not use, loaded when first asked for.
_LAZY = {
    "Traceback": "bridge.failure",
    "Thread": "bridge.threads",
    "fork_thread": "bridge.threads",
    "join_thread": "bridge.threads",
}
__getattr__ = lazy_getattr(globals(), _LAZY)


class DryRunResult(Exception):
    """``Scheduler.run(expr, dryrun=True)`` found calls that would run, and ran none: the
    message is the dry run's report; ``would_run`` holds those calls' jobs."""

    def __init__(self, report: str, would_run: list) -> None:
        super().__init__(report)
        self.would_run = would_run


class Scheduler(NativeScheduler):
    """``Scheduler()`` uses ``.bridge/`` in the working directory (or ``BRIDGE_CONFIG``);
    ``Scheduler(config=Config.load(dir))`` or ``Scheduler(config={...})`` configure it."""

    def __init__(self, config: Any = None, *, db_uri: str | None = None) -> None:
        # BRIDGE_DB_URI is in the settings already, a relative SQLite path taken from the
        # config folder as `bridge log` takes it; ``db_uri`` given here wins, as it is.
        super().__init__(_settings(config), db_uri=db_uri)

    def run(self, expr: Any, *, dryrun: bool = False, **options: Any) -> Any:
        """Evaluate ``expr`` (see the options of bridge.native's ``Scheduler.run``). With
        ``dryrun=True``, as in redun, nothing runs and nothing is recorded: the value is
        returned when every call it needs is a cache hit, else DryRunResult says which
        calls would run and why (what ``bridge run --dryrun`` prints)."""
        if not dryrun:
            return super().run(expr, **options)
        from bridge.dryrun import report
        from bridge.dryrun_plan import plan_run

        execution = self.dryrun(expr, cache=options.get("cache", True),
                                context=options.get("context"),
                                accept_versions=options.get("accept_versions"))
        if execution.replayed is not None:
            return execution.replayed[0]
        raise DryRunResult(report(execution, plan_run(execution)), execution.would_run)

    def add_executor(self, executor: Executor) -> None:
        """Use ``executor`` for the tasks that name it (``@task(executor=name)``), in place
        of what bridge.ini says: e.g. a ``LocalExecutor("batch")`` in tests."""
        self._executors.pop(executor.name, None)
        executor.start(self.outcomes.put)
        self._executors[executor.name] = executor


def run(expr: Any, config_dir: str | None = None, **run_options: Any) -> Any:
    """Evaluate ``expr`` with the scheduler of ``config_dir`` (default ``.bridge``, or
    ``BRIDGE_CONFIG``), made on first use and kept for later calls; ``run_options`` as
    for ``Scheduler.run`` (``cache=False``, ...)."""
    scheduler = _schedulers.get(config_dir)
    if scheduler is None:
        scheduler = _schedulers[config_dir] = Scheduler(load_settings(config_dir))
    return scheduler.run(expr, **run_options)


def _settings(config: Any) -> SchedulerSettings:
    if isinstance(config, SchedulerSettings):
        return config
    if config is None:
        return load_settings()
    from bridge.config import Config

    if isinstance(config, dict):
        return Config(config).to_settings()
    if isinstance(config, Config):
        return config.to_settings()
    raise TypeError(f"Scheduler(config=...) takes a Config, a dict or None, not {type(config)}")
