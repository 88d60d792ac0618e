"""A bridge task as a Prefect flow: the flow run evaluates the task's call with bridge's
scheduler (the project's store and executors), mirroring each job into a task run."""

from __future__ import annotations

import inspect
import os
import uuid
from pathlib import Path
from typing import Any

from prefect import Flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.states import Cancelled, State
from prefect.task_runners import ThreadPoolTaskRunner

from bridge.adapters.prefect.cancel import CancelWatcher
from bridge.adapters.prefect.parameters import flow_signature
from bridge.adapters.prefect.task_runs import TaskRunMirror
from bridge.native.execution import ExecutionCancelled
from bridge.native.executors.local import DEFAULT_THREADS
from bridge.native.plain_values import arguments_from_plain
from bridge.native.scheduler import Scheduler
from bridge.native.settings import DEFAULT_DIR, SchedulerSettings, load_settings
from bridge.native.task import Task


def flow_for(task: Task, name: str | None = None, *, config_dir: str | os.PathLike | None = None,
             **flow_options: Any) -> Flow:
    """A Prefect flow whose parameters are ``task``'s and whose run evaluates
    ``task(**parameters)`` with bridge, built as ``bridge run`` builds it (so both share
    cache entries). ``config_dir`` is the bridge config folder (default: ``BRIDGE_CONFIG``,
    else ``.bridge`` in the working directory, resolved now). ``flow_options`` go to
    ``prefect.Flow`` (``task_runner=``, ``retries=``, ...)."""
    config_path = Path(config_dir or os.environ.get("BRIDGE_CONFIG") or DEFAULT_DIR).resolve()

    signature = flow_signature(task)

    def run_workflow(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        arguments = arguments_from_plain(task, bound.arguments)
        call = inspect.BoundArguments(signature, arguments)  # type: ignore[arg-type]
        return _evaluate(task(*call.args, **call.kwargs), config_path)

    run_workflow.__signature__ = signature  # type: ignore[attr-defined]
    run_workflow.__doc__ = task.func.__doc__
    run_workflow.__name__ = task.name
    options: dict[str, Any] = {
        "name": name or task.fullname.replace(".", "-"),
        "version": task.hash[:12],
        "persist_result": True,
        "log_prints": True,
        "task_runner": ThreadPoolTaskRunner(max_workers=_local_workers(load_settings(config_path))),
        **flow_options,
    }
    return Flow(fn=run_workflow, **options)


def _evaluate(call: Any, config_path: Path) -> Any:
    """The flow run's body: one bridge execution, its id the flow run's."""
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None
    flow_run = context.flow_run
    scheduler = Scheduler(load_settings(config_path))
    mirror = TaskRunMirror(context.task_runner)
    scheduler.wrap_executors(mirror.wrap)
    with scheduler, mirror, CancelWatcher(flow_run.id, scheduler.cancel):
        execution_id = _execution_id(scheduler.store, flow_run.id)
        try:
            return scheduler.run(call, execution_id=execution_id,
                                 description=f"prefect flow run {flow_run.name}: {call!r}",
                                 tags={"prefect_flow_run": str(flow_run.id)},
                                 listener=mirror.on_job)
        except ExecutionCancelled as error:
            return _cancelled(execution_id, error)
        except Exception as error:
            get_run_logger().error(f"bridge execution {execution_id} failed: "
                                   f"{type(error).__name__}: {error} "
                                   f"(bridge log {execution_id[:8]})")
            raise


def _execution_id(store: Any, flow_run_id: uuid.UUID) -> str:
    """The flow run's id, so ``bridge log <flow run id>`` finds it; a retried flow run
    (already recorded) gets a new one, tagged with the flow run."""
    candidate = str(flow_run_id)
    return str(uuid.uuid4()) if store.execution(candidate) is not None else candidate


def _cancelled(execution_id: str, error: ExecutionCancelled) -> State:
    return Cancelled(message=f"{error}: bridge execution {execution_id} stopped and its "
                             f"running jobs cancelled (bridge log {execution_id[:8]})")


def _local_workers(settings: SchedulerSettings) -> int:
    """Local bodies run on the flow's task runner: as many threads as bridge's default
    executor would use."""
    default = settings.executors.get("default")
    return int(default.options.get("max_workers") or DEFAULT_THREADS) if default \
        else DEFAULT_THREADS
