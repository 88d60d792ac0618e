"""Rows the execution writes: jobs, and the expression a parent's body returned (the IR
from which `bridge log` derives dataflow and the adapters build their graphs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.native.expression import (
    CallValue,
    Expression,
    GetAttr,
    GetItem,
    Operation,
    SpecialForm,
    TaskCall,
)
from bridge.native.hashing import hash_value

if TYPE_CHECKING:
    from bridge.native.execution import Execution
    from bridge.native.job import Job


def job_row(execution_id: str, job: Job, ended: float | None = None) -> dict:
    return {
        "job_id": job.id,
        "execution_id": execution_id,
        "parent_id": job.parent.id if job.parent is not None else None,
        "call_hash": job.call_hash,
        "task_hash": job.task.hash,
        "task_name": job.task.fullname,
        "executor": job.executor_name,
        "status": job.status,
        "started": job.started,
        "ended": ended,
        "error": None,
        "arguments": job.arguments,
        "tags": {},
    }


def serialize_expression(value: Any, execution: Execution) -> Any:
    """JSON for a returned expression: task calls become their call hashes, constants
    their value hashes (the values themselves are stored too)."""
    if isinstance(value, Expression):
        return _serialize_node(value, execution)
    cls = type(value)
    if cls is list or cls is tuple:
        return {cls.__name__: [serialize_expression(item, execution) for item in value]}
    if cls is dict:
        return {"dict": [[serialize_expression(k, execution), serialize_expression(v, execution)]
                         for k, v in value.items()]}
    value_hash = hash_value(value)
    execution.store.add_value(execution.batch, value_hash, value)
    return {"value": value_hash}


def _serialize_node(expr: Expression, execution: Execution) -> dict:
    def each(items: Any) -> list:
        return [serialize_expression(item, execution) for item in items]

    if isinstance(expr, TaskCall):
        job = execution.expr_jobs.get(id(expr))
        return {"call": job.call_hash if job else None, "task": expr.task.fullname,
                "args": each(expr.args),
                "kwargs": {k: serialize_expression(v, execution) for k, v in expr.kwargs.items()}}
    if isinstance(expr, GetItem):
        return {"getitem": [serialize_expression(expr.base, execution),
                            serialize_expression(expr.key, execution)]}
    if isinstance(expr, GetAttr):
        return {"getattr": [serialize_expression(expr.base, execution), expr.name]}
    if isinstance(expr, Operation):
        return {"op": expr.name, "operands": each(expr.operands)}
    if isinstance(expr, SpecialForm):
        return {"form": expr.kind, "operands": each(expr.operands)}
    if isinstance(expr, CallValue):
        return {"callvalue": serialize_expression(expr.func, execution),
                "args": each(expr.args)}
    raise TypeError(f"cannot record expression {expr!r}")
