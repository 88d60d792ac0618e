"""Graph reduction: a promise of (value, sources) for any value, lazy or not.

Reducing a task call waits for its arguments, then asks :meth:`Reduction.call` for the
job; special forms (cond, seq, catch, apply_tags) are evaluated by
:mod:`bridge.native.control`. ``sources`` say which upstream call each part of a value
came from (``(subpath in this value, call hash, path into that call's result)``): the
dataflow the store records for every argument.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from bridge.native import control
from bridge.native.calling import scalars_only
from bridge.native.context import CONTEXT_READ_PREFIX, overridden
from bridge.native.expression import (
    CallValue,
    Expression,
    GetAttr,
    GetItem,
    Operation,
    SpecialForm,
    TaskCall,
    ValueExpression,
    contains_expression,
    record_fields,
    with_fields,
)
from bridge.native.job import NO_SOURCES, Job, Source
from bridge.native.promise import Promise, gather, resolved

_CONTAINERS = (list, tuple, dict, set, frozenset)


class Reduction:
    """The reduction half of an execution: it owns the ready queue (callbacks the loop
    runs) and remembers each expression's promise and each task call's job: in one
    entry per expression, ``(expr, promise)``, or ``(expr, promise, job)`` once a task
    call has its job (one dict entry per call where two would cost 80 bytes more)."""

    def __init__(self) -> None:
        self.ready: deque = deque()
        self.expr_promises: dict[int, tuple[Expression, Promise] | tuple[Expression, Promise, Job]
                                 ] = {}

    def call(self, task: Any, call_options: dict | None, args: tuple, kwargs: dict,
             arg_sources: tuple[Source, ...], kwarg_sources: tuple[Source, ...],
             parent: Job | None) -> Job:
        raise NotImplementedError

    def job_of(self, expr: TaskCall) -> Job | None:
        """The job a reduced task call became."""
        entry = self.expr_promises.get(id(expr))
        return entry[2] if entry is not None and len(entry) == 3 else None  # type: ignore[misc]

    def reduce(self, value: Any, parent: Job | None) -> Promise:
        if isinstance(value, Expression):
            entry = self.expr_promises.get(id(value))
            if entry is not None:
                return entry[1]
            promise = self._reduce_expression(value, parent)
            # a task call with plain arguments has its entry, with its job, already
            self.expr_promises.setdefault(id(value), (value, promise))
            return promise
        if (type(value) in _CONTAINERS or isinstance(value, tuple)) and contains_expression(value):
            return self._reduce_container(value, parent)
        if contains_expression(value):  # a dataclass or pydantic model holding lazy fields
            return self._reduce_record(value, record_fields(value) or {}, parent)
        return resolved(self.ready, (value, NO_SOURCES))

    def _reduce_record(self, value: Any, fields: dict[str, Any], parent: Job | None
                       ) -> Promise:
        """A copy of a dataclass or pydantic model with its fields reduced; the sources
        of each field are under its name, as for a dict's keys."""
        result = Promise(self.ready)

        def on_fields(reduced: dict) -> None:
            built, sources = reduced
            result.resolve((with_fields(value, built), sources))

        self.reduce(fields, parent).then(on_fields, result.reject)
        return result

    def _reduce_container(self, value: Any, parent: Job | None) -> Promise:
        result = Promise(self.ready)
        if type(value) is dict:
            items = gather(self.ready, [self.reduce(v, parent) for v in value.values()])
            keys = gather(self.ready, [self.reduce(k, parent) for k in value])

            def on_dict(both: list) -> None:
                pairs = list(zip(*both, strict=True))  # ((key, key_sources), (value, sources))
                built = {key: item for (key, _), (item, _) in pairs}
                sources = _prefixed([(_json_key(key), s) for (key, _), (_, s) in pairs])
                result.resolve((built, sources))

            gather(self.ready, [keys, items]).then(on_dict, result.reject)
            return result

        def on_items(items: list) -> None:
            values = [v for v, _ in items]
            cls = type(value)
            # namedtuples take their fields as arguments
            built = cls(values) if cls in (list, tuple, set, frozenset) else cls(*values)
            sources = () if cls in (set, frozenset) else _prefixed(
                [(index, s) for index, (_, s) in enumerate(items)]
            )
            result.resolve((built, sources))

        gather(self.ready, self._reduce_items(value, parent)).then(on_items, result.reject)
        return result

    def _reduce_items(self, values: Any, parent: Job | None) -> list[Promise]:
        """Each item's promise. A task call not reduced before (each call of a fan-out)
        goes straight to ``_reduce_task_call``, without the dispatch of ``reduce``."""
        promises = []
        entries = self.expr_promises
        for value in values:
            if type(value) is TaskCall and id(value) not in entries:
                promise = self._reduce_task_call(value, parent)
                entries.setdefault(id(value), (value, promise))  # as reduce() keeps it
            else:
                promise = self.reduce(value, parent)
            promises.append(promise)
        return promises

    def _reduce_expression(self, expr: Expression, parent: Job | None) -> Promise:
        if isinstance(expr, TaskCall):
            return self._reduce_task_call(expr, parent)
        if isinstance(expr, SpecialForm):
            return control.evaluate(self, expr, parent)  # type: ignore[arg-type]
        result = Promise(self.ready)
        operands, on_value = _operation(expr, parent, self, result)

        def guarded(parts: list) -> None:
            try:
                on_value(parts)
            except Exception as error:
                result.reject(error)

        gather(self.ready, [self.reduce(op, parent) for op in operands]).then(
            guarded, result.reject
        )
        return result

    def _reduce_task_call(self, expr: TaskCall, parent: Job | None) -> Promise:
        """The call's job's own promise once its arguments are known: at once for plain
        arguments (most calls), after they are reduced for lazy ones."""
        if scalars_only(expr.args, expr.kwargs) or not (
                contains_expression(expr.args) or contains_expression(expr.kwargs)):
            return self._start_call(expr, expr.args, NO_SOURCES, expr.kwargs, NO_SOURCES,
                                    parent)
        result = Promise(self.ready)

        def start(parts: list) -> None:
            (args, arg_sources), (kwargs, kwarg_sources) = parts
            self._start_call(expr, args, arg_sources, kwargs, kwarg_sources, parent).then(
                result.resolve, result.reject)

        gather(self.ready, [self.reduce(expr.args, parent), self.reduce(expr.kwargs, parent)]
               ).then(start, result.reject)
        return result

    def _start_call(self, expr: TaskCall, args: tuple, arg_sources: tuple[Source, ...],
                    kwargs: dict, kwarg_sources: tuple[Source, ...], parent: Job | None
                    ) -> Promise:
        try:
            job = self.call(expr.task, expr.options, args, kwargs, arg_sources, kwarg_sources,
                            parent)
        except Exception as error:
            failed = Promise(self.ready)
            failed.reject(error)
            self.expr_promises.setdefault(id(expr), (expr, failed))
            return failed
        entry = self.expr_promises.get(id(expr))
        self.expr_promises[id(expr)] = (expr, job.promise if entry is None else entry[1], job)
        if parent is not None:
            # a failed child counts too: a catch above it caches the recovery, which
            # editing the failing task must invalidate
            merge = _MergeSettled(parent, job)
            job.promise.then(merge, merge)
        return job.promise


def _operation(expr: Expression, parent: Job | None, reduction: Reduction,
               result: Promise) -> tuple[list, Any]:
    """The operands of an operator-like expression and what to do with their values."""
    if isinstance(expr, GetItem):
        def on_getitem(parts: list) -> None:
            (base, sources), (key, _) = parts
            result.resolve((base[key], _narrow(sources, _json_key(key))))
        return [expr.base, expr.key], on_getitem
    if isinstance(expr, GetAttr):
        def on_getattr(parts: list) -> None:
            base, sources = parts[0]
            result.resolve((getattr(base, expr.name), _narrow(sources, expr.name)))
        return [expr.base], on_getattr
    if isinstance(expr, Operation):
        def on_operation(parts: list) -> None:
            result.resolve((expr.apply(*(v for v, _ in parts)), NO_SOURCES))
        return list(expr.operands), on_operation
    if isinstance(expr, ValueExpression):
        def on_value(parts: list) -> None:
            result.resolve(parts[0])
        return [expr.value], on_value
    if isinstance(expr, CallValue):
        def on_call(parts: list) -> None:
            func, args, kwargs = (v for v, _ in parts)
            reduction.reduce(func(*args, **kwargs), parent).then(result.resolve, result.reject)
        return [expr.func, expr.args, expr.kwargs], on_call
    raise TypeError(f"bridge cannot evaluate {expr!r}")


class _MergeSettled:
    """Merges a settled child into its parent: a callback per call that a fan-out holds
    100,000 of until its calls end, so a third the size of a ``functools.partial``."""

    __slots__ = ("child", "parent")

    def __init__(self, parent: Job, child: Job) -> None:
        self.parent, self.child = parent, child

    def __call__(self, _outcome: Any) -> None:
        merge_subtree(self.parent, self.child)


def merge_subtree(parent: Job, child: Job) -> None:
    """What a finished or replayed child adds to its parent's subtree: its task hashes,
    its argument files and its subtree's files, and its call counts. A child checked
    ``shallow`` keeps its subtree's files to itself: files beneath it (intermediates it
    deleted, say) do not make its parents run again either."""
    inherited = _inherited_subtree(child)
    parent.add_subtree_tasks(inherited)
    if child.argument_files:
        parent.add_subtree_files(child.argument_files)
    if child.subtree_files and child.option("check_valid", child.task.check_valid) != "shallow":
        parent.add_subtree_files(child.subtree_files)
    counts = parent.subtree_counts
    if counts is None:
        counts = parent.subtree_counts = {parent.task.fullname: 1}
    if child.subtree_counts is None:
        name = child.task.fullname
        counts[name] = counts.get(name, 0) + 1
    else:
        for name, n in child.subtree_counts.items():
            counts[name] = counts.get(name, 0) + n


def _inherited_subtree(child: Job) -> set[str] | frozenset[str]:
    """What the child adds to its parent's subtree: its task hashes, and the context
    values read by it or beneath it, except those its own ``update_context`` decides."""
    override = child.call_options.get("_context") if child.call_options else None
    if not override and not child.context_reads:
        return child.subtree_tasks
    inherited = {*child.subtree_tasks, *child.context_reads}
    if not override:
        return inherited
    return {h for h in inherited
            if not (h.startswith(CONTEXT_READ_PREFIX) and overridden(h, override))}


def _json_key(key: Any) -> Any:
    return key if type(key) in (str, int, float, bool) or key is None else repr(key)


def _prefixed(parts: list[tuple[Any, tuple[Source, ...]]]) -> tuple[Source, ...]:
    return tuple(
        ((prefix, *subpath), call_hash, path)
        for prefix, sources in parts
        for subpath, call_hash, path in sources
    )


def _narrow(sources: tuple[Source, ...], key: Any) -> tuple[Source, ...]:
    """Sources of `value[key]`, given the sources of `value`."""
    narrowed = []
    for subpath, call_hash, path in sources:
        if not subpath:
            narrowed.append(((), call_hash, (*path, key)))
        elif subpath[0] == key:
            narrowed.append((subpath[1:], call_hash, path))
    return tuple(narrowed)
