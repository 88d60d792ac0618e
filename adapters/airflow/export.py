"""Exporting a workflow's top-level call as a DAG file: its recorded call tree, the
DAG's params, and the paths the DAG's tasks use to reach the project."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from bridge.adapters.airflow.render import DagSpec, render
from bridge.adapters.airflow.shape import Position, shape_of
from bridge.native.calltree import read_call_tree
from bridge.native.plain_values import plain_value
from bridge.native.store import CallGraphStore
from bridge.native.task import Task, registry


class ExportError(Exception):
    """The DAG cannot be written as asked; the message says why."""


def recorded_shape(store: CallGraphStore, execution_id: str, task: Task,
                   batch_executors: frozenset[str]) -> Position:
    """The positions of the call tree an execution recorded for ``task``; calls of the
    executors named in ``batch_executors`` run as BatchOperator jobs."""
    try:
        tree = read_call_tree(store, execution_id)
    except LookupError as error:
        raise ExportError(str(error)) from None
    if tree.task_name != task.fullname:
        raise ExportError(f"execution {execution_id[:8]} ran {tree.task_name}, not "
                          f"{task.fullname}")
    return shape_of(tree, is_builtin, batch_executors)


def is_builtin(task_name: str) -> bool:
    """Whether the named task is one of bridge's own (``script()``, ``copy_file``, ...)."""
    task = registry.get(task_name)
    return task is not None and task.is_builtin


def dag_params(task: Task, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The task's arguments, with its defaults, as JSON values for the DAG's params
    (File and Dir as their paths). A default with no JSON form is left to the binding."""
    params = {}
    for name, parameter in task.signature.parameters.items():
        value = kwargs.get(name, parameter.default)
        if value is inspect.Parameter.empty:
            continue
        try:
            params[name] = plain_value(value)
        except TypeError:
            if name in kwargs:
                raise ExportError(f"--{name}: a {type(value).__name__} cannot be a DAG param; "
                                  "give the task a str, number, bool, list, dict or File"
                                  ) from None
    return params


def write_dag(output: Path, spec: DagSpec) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(spec))


def relative_to(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when one folder holds the other, else absolute (a
    DAG folder elsewhere on a worker still finds the project by its full path)."""
    path, base = path.resolve(), base.resolve()
    if path.is_relative_to(base) or base.is_relative_to(path):
        return os.path.relpath(path, base)
    return str(path)
