"""What the tasks of an exported DAG run. Each function is one Airflow task's work.

Airflow passes references only: a *ref* is the value hash under which a task call (the
lazy expression a parent's body built, its arguments possibly still lazy) is kept in
bridge's store. Every step evaluates through bridge's scheduler, so cache hits replay,
new calls run, and everything is recorded exactly as ``bridge run`` records it:

- ``plan_root`` / ``plan``: run the bodies of the parent calls at one position and keep
  each call they returned that an exported child position covers; return the refs by
  child position (a mapped task maps over each list).
- ``evaluate``: evaluate one call (its whole subtree) and return its result's value hash.
- ``finish`` / ``finish_root``: evaluate the parent calls themselves. Their children ran
  already, so this is mostly a replay; calls no exported position covered (deeper
  recursion, a branch taken only now, a recovery in ``catch``) run here. It leaves the
  parents' cache entries, so ``bridge run`` afterwards replays the whole call.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bridge.adapters.airflow.batch import OUTPUTS_TYPE, BatchOutputs, batch_jobs, reading_outputs
from bridge.native.control import WRAPPER_TASKS, wrapped_expression
from bridge.native.expression import (
    GetAttr,
    GetItem,
    Operation,
    SpecialForm,
    TaskCall,
    contains_expression,
)
from bridge.native.hashing import hash_value
from bridge.native.plain_values import arguments_from_plain
from bridge.native.runner import run_body
from bridge.native.scheduler import Scheduler, register_executor_type
from bridge.native.settings import SchedulerSettings
from bridge.native.store import CallGraphStore, WriteBatch
from bridge.native.task import registry


@dataclass
class Project:
    """Where the workflow lives and the settings of the bridge config its tasks use."""

    folder: str
    workflow: str  # the workflow's file, relative to folder
    task: str  # the top-level task's full name
    settings: SchedulerSettings


# -- the steps ----------------------------------------------------------------------------


def plan_root(project: Project, params: dict, children: list[str]) -> dict[str, list[str]]:
    """Run the top-level call's body (its call built from the DAG run's params)."""
    with _bridge(project) as scheduler:
        return _plan_calls(scheduler, [_root_call(project, params)], children)


def plan(project: Project, refs: list[str], children: list[str]) -> dict[str, list[str]]:
    """Run the bodies of the calls at one parent position."""
    with _bridge(project) as scheduler:
        return _plan_calls(scheduler, [scheduler.store.load_value(ref) for ref in refs], children)


def evaluate(project: Project, ref: str) -> str:
    """Evaluate one call; its result's value hash."""
    with _bridge(project) as scheduler:
        return _run(scheduler, scheduler.store.load_value(ref))


def prepare_batch(project: Project, refs: list[str], executor: str) -> list[dict[str, Any]]:
    """Package the calls of a Batch position that are not cache hits; the arguments of
    a BatchOperator job for each."""
    with _bridge(project) as scheduler:
        pending = []
        for ref in refs:
            call = scheduler.store.load_value(ref)
            args, kwargs = _arguments(scheduler, call)
            if scheduler.dryrun(TaskCall(call.task, args, kwargs, call.options)).would_run:
                pending.append((call, args, kwargs))
        print(f"bridge: {len(pending)} of {len(refs)} call(s) to run on Batch")
        return batch_jobs(project.settings.executors[executor].options, pending)


def record_batch(project: Project, refs: list[str], executor: str) -> list[str]:
    """Evaluate the calls of a Batch position, their bodies' outcomes read from what
    their BatchOperator jobs wrote; their results' value hashes."""
    register_executor_type(OUTPUTS_TYPE, BatchOutputs)
    executors = dict(project.settings.executors)
    executors[executor] = reading_outputs(executors[executor])
    reading = replace(project, settings=replace(project.settings, executors=executors))
    return finish(reading, refs)


def finish(project: Project, refs: list[str]) -> list[str]:
    """Evaluate the parent calls at one position; their results' value hashes."""
    with _bridge(project) as scheduler:
        return [_run(scheduler, scheduler.store.load_value(ref)) for ref in refs]


def finish_root(project: Project, params: dict) -> str:
    """Evaluate the top-level call: the DAG run's result, as ``bridge run`` gives it."""
    with _bridge(project) as scheduler:
        return _run(scheduler, _root_call(project, params))


# -- helpers ------------------------------------------------------------------------------


@contextlib.contextmanager
def _bridge(project: Project) -> Iterator[Scheduler]:
    """A scheduler on the project's store, with the workflow imported and its folder the
    working directory (as for ``bridge run`` started there)."""
    folder = str(Path(project.folder).resolve())
    workflow = Path(folder, project.workflow)
    if str(workflow.parent) not in sys.path:
        sys.path.insert(0, str(workflow.parent))
    importlib.import_module(workflow.stem)
    previous = os.getcwd()
    os.chdir(folder)
    try:
        with Scheduler(project.settings) as scheduler:
            yield scheduler
    finally:
        os.chdir(previous)


def _root_call(project: Project, params: dict) -> TaskCall:
    """The top-level call as ``bridge run`` builds it: keyword arguments, File and Dir
    parameters given as paths. Binding applies defaults, so the call hash is the same."""
    task = registry.get(project.task)
    if task is None:
        raise LookupError(f"the workflow {project.workflow} defines no task {project.task}")
    return task(**arguments_from_plain(task, params))


def _run(scheduler: Scheduler, call: TaskCall) -> str:
    """Evaluate a call and say in the task's log whether it ran or replayed."""
    statuses: dict[str, str] = {}

    def listen(job: Any, status: str) -> None:
        if job.parent is None:
            statuses["top"] = status

    value = scheduler.run(call, description=f"airflow: {call.task.fullname}", listener=listen)
    value_hash = hash_value(value)
    print(f"bridge: {call.task.fullname} {statuses.get('top', 'DONE')}: {value!r:.200}")
    return value_hash


def _plan_calls(scheduler: Scheduler, calls: list[TaskCall],
                children: list[str]) -> dict[str, list[str]]:
    planned: dict[str, list[str]] = {name: [] for name in children}
    batch = WriteBatch()
    for call in calls:
        returned = _body(scheduler, call)
        for child in _covered_calls(returned, set(children)):
            planned[child.task.fullname].append(_keep(scheduler.store, batch, child))
    scheduler.store.flush(batch)
    for name, refs in planned.items():
        print(f"bridge: {len(refs)} call(s) of {name}")
    return planned


def _body(scheduler: Scheduler, call: TaskCall) -> Any:
    """Run a parent's body on its evaluated arguments."""
    args, kwargs = _arguments(scheduler, call)
    outcome = run_body(call.task.fullname, call.task.func, args, kwargs)
    if not outcome.ok:
        raise outcome.error  # type: ignore[misc]
    return outcome.value


def _arguments(scheduler: Scheduler, call: TaskCall) -> tuple[tuple, dict]:
    """A call's arguments, evaluated: upstream calls replay from the cache (or run here
    when nothing ran them yet)."""
    if not contains_expression((call.args, call.kwargs)):
        return call.args, call.kwargs
    return scheduler.run((call.args, call.kwargs),
                         description=f"airflow: arguments of {call.task.fullname}")


def _covered_calls(value: Any, names: set[str] | None) -> Iterator[TaskCall]:
    """The task calls that evaluating ``value`` will surely evaluate (not those under
    ``cond`` or ``seq``, whose evaluation depends on the run), in the order they appear,
    that an exported position covers. A call whose arguments hold a built-in call
    (``script()``, ...) is left to the finish step: outside its caller's body it would
    hash differently."""
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, TaskCall) and (
                names is None or (item.task.fullname in names and not _calls_builtin(item))):
            yield item
        stack.extend(reversed(_parts(item)))


def _parts(item: Any) -> tuple:
    """What evaluating ``item`` surely evaluates too."""
    if isinstance(item, TaskCall):
        if item.task.fullname in WRAPPER_TASKS:  # catch(quote(expr), ...) evaluates expr
            return (wrapped_expression(item),)
        return (*item.args, *item.kwargs.values())
    if isinstance(item, SpecialForm):
        return item.operands[:1] if item.kind == "apply_tags" else ()
    if isinstance(item, GetItem | GetAttr):
        return (item.base,)
    if isinstance(item, Operation):
        return item.operands
    if isinstance(item, dict):
        return tuple(item.values())
    if isinstance(item, list | tuple | set | frozenset):
        return tuple(item)
    return ()


def _calls_builtin(call: TaskCall) -> bool:
    return any(inner.task.is_builtin
               for inner in _covered_calls((call.args, call.kwargs), None))


def _keep(store: CallGraphStore, batch: WriteBatch, call: TaskCall) -> str:
    ref = hash_value(call)
    store.add_value(batch, ref, call)
    return ref

