"""The Scheduler: owns the store and the executors, and runs executions."""

from __future__ import annotations

import importlib
import queue
from collections.abc import Callable, Mapping
from typing import Any

from bridge.native.context import merge_contexts
from bridge.native.current import current_scheduler
from bridge.native.execution import CancelRequest, Execution
from bridge.native.executors.base import Executor
from bridge.native.file_identity import set_content_limit
from bridge.native.settings import ExecutorSettings, SchedulerSettings, builtin_executors
from bridge.native.store import CallGraphStore
from bridge.native.task import normalise_tags, registry

EXECUTOR_TYPES = {
    "local": "bridge.native.executors.local:LocalExecutor",
    "docker": "bridge.native.executors.docker:DockerExecutor",
    "aws_batch": "bridge.native.executors.aws_batch:AwsBatchExecutor",
    "slurm": "bridge.native.executors.slurm:SlurmExecutor",
}


def register_executor_type(name: str, executor_class: type[Executor]) -> None:
    """Make ``type = name`` in an executor's settings start ``executor_class`` (an
    adapter's own executor; the Airflow adapter's reads Batch jobs' outputs)."""
    EXECUTOR_TYPES.setdefault(name, f"{executor_class.__module__}:{executor_class.__qualname__}")


class ExecutorConfigError(Exception):
    """A task names an executor that is not configured, or of an unknown type."""


class Scheduler:
    """Evaluates expressions: ``Scheduler().run(main())`` returns the concrete value.

    With no settings it uses ``.bridge/`` in the working directory: a persistent SQLite
    store and the local executor."""

    def __init__(self, settings: SchedulerSettings | None = None, *, db_uri: str | None = None):
        self.settings = settings or SchedulerSettings()
        if db_uri is not None:
            self.settings.db_uri = db_uri
        self._store: CallGraphStore | None = None
        self._executors: dict[str, Executor] = {}
        self._task_hashes: set[str] | None = None
        self._wrap_executor: Callable[[Executor], Executor] | None = None
        # Executors report here from their threads; the running execution drains it.
        self.outcomes: queue.SimpleQueue = queue.SimpleQueue()

    @property
    def store(self) -> CallGraphStore:
        if self._store is None:
            settings = self.settings
            self._store = CallGraphStore(
                settings.resolved_db_uri(), settings.resolved_value_store(), settings.inline_limit
            ).open()
        return self._store

    def run(
        self,
        expr: Any,
        *,
        cache: bool = True,
        execution_id: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | list[tuple[str, str]] | None = None,
        listener: Callable[[Any, str], None] | None = None,
        context: dict | None = None,
        accept_versions: Mapping[str, str] | None = None,
    ) -> Any:
        """Evaluate ``expr`` and return its value; raises the first error a call raised.
        ``listener(job, status)`` is told of every job state change (for live displays).
        ``context`` updates the configured context (what ``get_context`` reads).
        ``accept_versions`` ({task name: version}) records the tasks' current sources as
        sources of those versions, silencing their VersionDriftWarning."""
        self._task_hashes = None  # tasks may have been (re)defined since the last run
        set_content_limit(self.settings.content_hash_limit)
        execution = Execution(
            self, use_cache=cache, execution_id=execution_id,
            description=description if description is not None else repr(expr),
            tags=dict(normalise_tags(tags, "Scheduler.run")), listener=listener,
            context=merge_contexts(self.settings.context, context or {}),
            accept_versions=accept_versions,
        )
        with current_scheduler(self):
            return execution.run(expr)

    def dryrun(self, expr: Any, *, cache: bool = True, context: dict | None = None,
               accept_versions: Mapping[str, str] | None = None) -> Any:
        """Look ``expr`` up in the cache without running or recording anything: the
        returned Execution's ``would_run`` lists the calls that would run (their own
        children are unknown until their bodies run), ``jobs_by_hash`` every call seen,
        ``drift.drifting`` the pinned tasks whose source drifted (not accepted), and
        ``replayed`` holds the value when nothing would run."""
        self._task_hashes = None
        set_content_limit(self.settings.content_hash_limit)
        execution = Execution(self, use_cache=cache, description="dry run", dryrun=True,
                              context=merge_contexts(self.settings.context, context or {}),
                              accept_versions=accept_versions)
        execution.run(expr)
        return execution

    def current_task_hashes(self) -> set[str]:
        if self._task_hashes is None:
            self._task_hashes = {task.hash for task in registry}
        return self._task_hashes

    def executor(self, name: str, task_name: str) -> Executor:
        executor = self._executors.get(name)
        if executor is not None:
            return executor
        settings = self.settings.executors.get(name) or builtin_executors().get(name)
        if settings is None:
            raise ExecutorConfigError(
                f"task {task_name} asks for executor {name!r}, which is not configured: "
                f"add an [executors.{name}] section to bridge.ini"
            )
        executor = _make_executor(name, settings, self.settings.cores)
        if self._wrap_executor is not None:
            executor = self._wrap_executor(executor)
        executor.start(self.outcomes.put)
        self._executors[name] = executor
        return executor

    def wrap_executors(self, wrapper: Callable[[Executor], Executor] | None) -> None:
        """Pass every executor this scheduler starts from now on through ``wrapper``,
        which returns the executor to use (an orchestrator adapter wraps each one to
        mirror its jobs); ``None`` stops wrapping. Call it before ``run``."""
        self._wrap_executor = wrapper

    def cancel(self, reason: str = "cancelled") -> None:
        """Cancel the running execution (or the next one, if none runs), from any thread:
        it stops as on Ctrl+C, records its unfinished jobs CANCELLED, stops its running
        work, and ``run`` raises ``ExecutionCancelled``."""
        self.outcomes.put(CancelRequest(reason))

    def started_executors(self) -> list[Executor]:
        return list(self._executors.values())

    def stop_executors(self) -> None:
        """Stop the started executors and the work they still run; a later run starts
        fresh ones."""
        executors, self._executors = self._executors, {}
        for executor in executors.values():
            executor.stop()

    def close(self) -> None:
        self.stop_executors()
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Scheduler:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


def _make_executor(name: str, settings: ExecutorSettings, run_cores: float | None) -> Executor:
    """The executor ``settings`` describe; a local one capped at ``run_cores``."""
    path = EXECUTOR_TYPES.get(settings.type)
    if path is None:
        raise ExecutorConfigError(
            f"executor {name!r} has type {settings.type!r}; known types: "
            + ", ".join(sorted(EXECUTOR_TYPES))
        )
    module_name, class_name = path.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    options = dict(settings.options)
    if settings.type == "local" and run_cores is not None:
        options["run_cores"] = run_cores
    return cls(name, options)
