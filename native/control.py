"""Control flow: special forms the scheduler evaluates lazily (cond, seq, catch,
apply_tags) and small built-in tasks (map_, flatten, const, throw, eval_)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.native.expression import SpecialForm
from bridge.native.job import NO_SOURCES
from bridge.native.promise import Promise
from bridge.native.task import namespace, task

if TYPE_CHECKING:
    from bridge.native.execution import Execution
    from bridge.native.job import Job


# -- special forms -------------------------------------------------------------------------

def cond(predicate: Any, then: Any, *rest: Any) -> SpecialForm:
    """``cond(p, a, b)``: ``a`` if ``p`` is truthy, else ``b``; only the branch taken runs.
    More pairs chain: ``cond(p1, a, p2, b, otherwise)``."""
    return SpecialForm("cond", (predicate, then, *rest))


def seq(expressions: list | tuple) -> SpecialForm:
    """Evaluate expressions one after another; their results as a list."""
    return SpecialForm("seq", tuple(expressions))


def catch(expression: Any, *handlers: Any) -> SpecialForm:
    """``catch(expr, ValueError, recover, ...)``: if evaluating ``expr`` raises one of the
    exception classes, the result is ``recover(error)`` (a task or a plain function)."""
    if len(handlers) < 2 or len(handlers) % 2:
        raise TypeError("catch(expression, ExceptionClass, recover, ...) takes handler pairs")
    for error_class, recover in zip(handlers[::2], handlers[1::2], strict=True):
        if not (isinstance(error_class, type) and issubclass(error_class, BaseException)):
            raise TypeError(f"catch: {error_class!r} is not an exception class")
        if not callable(recover):
            raise TypeError(f"catch: {recover!r} is not callable")
    return SpecialForm("catch", (expression,), {"handlers": handlers})


def apply_tags(
    value: Any,
    tags: dict[str, Any] | None = None,
    job_tags: dict[str, Any] | None = None,
    execution_tags: dict[str, Any] | None = None,
) -> SpecialForm:
    """Evaluate ``value`` and tag it (and optionally the calling job and the execution)."""
    params = {
        "tags": tags or {}, "job_tags": job_tags or {}, "execution_tags": execution_tags or {},
    }
    return SpecialForm("apply_tags", (value,), params)


def evaluate(execution: Execution, form: SpecialForm, parent: Job | None) -> Promise:
    return _EVALUATORS[form.kind](execution, form, parent)


def _evaluate_cond(execution: Execution, form: SpecialForm, parent: Job | None) -> Promise:
    result = Promise(execution.ready)

    def branch(operands: tuple) -> None:
        if len(operands) == 1:  # the final "otherwise"
            execution.reduce(operands[0], parent).then(result.resolve, result.reject)
            return
        if not operands:
            result.resolve((None, NO_SOURCES))
            return
        predicate, then, rest = operands[0], operands[1], operands[2:]

        def decide(value_sources: tuple) -> None:
            if value_sources[0]:
                execution.reduce(then, parent).then(result.resolve, result.reject)
            else:
                branch(rest)

        execution.reduce(predicate, parent).then(decide, result.reject)

    branch(form.operands)
    return result


def _evaluate_seq(execution: Execution, form: SpecialForm, parent: Job | None) -> Promise:
    result = Promise(execution.ready)
    values: list[Any] = []

    def step(index: int) -> None:
        if index == len(form.operands):
            result.resolve((values, NO_SOURCES))
            return

        def collect(value_sources: tuple) -> None:
            values.append(value_sources[0])
            step(index + 1)

        execution.reduce(form.operands[index], parent).then(collect, result.reject)

    step(0)
    return result


def _evaluate_catch(execution: Execution, form: SpecialForm, parent: Job | None) -> Promise:
    result = Promise(execution.ready)
    handlers = form.params["handlers"]

    def recover(error: BaseException) -> None:
        for error_class, handler in zip(handlers[::2], handlers[1::2], strict=True):
            if isinstance(error, error_class):
                try:
                    recovered = handler(error)
                except Exception as handler_error:
                    result.reject(handler_error)
                    return
                execution.reduce(recovered, parent).then(result.resolve, result.reject)
                return
        result.reject(error)

    execution.reduce(form.operands[0], parent).then(result.resolve, recover)
    return result


def _evaluate_apply_tags(execution: Execution, form: SpecialForm, parent: Job | None) -> Promise:
    result = Promise(execution.ready)

    def tag(value_sources: tuple) -> None:
        from bridge.native.hashing import hash_value

        params = form.params
        execution.add_tags("value", hash_value(value_sources[0]), params["tags"])
        if parent is not None:
            execution.add_tags("job", parent.id, params["job_tags"])
        execution.add_tags("execution", execution.id, params["execution_tags"])
        result.resolve(value_sources)

    execution.reduce(form.operands[0], parent).then(tag, result.reject)
    return result


_EVALUATORS: dict[str, Callable[[Execution, SpecialForm, Any], Promise]] = {
    "cond": _evaluate_cond,
    "seq": _evaluate_seq,
    "catch": _evaluate_catch,
    "apply_tags": _evaluate_apply_tags,
}


# -- built-in tasks ------------------------------------------------------------------------

with namespace("bridge"):

    @task(version="1")
    def map_(a_task: Any, values: list) -> list:
        """Call ``a_task`` on each value, once ``values`` is known."""
        return [a_task(value) for value in values]

    @task(version="1")
    def flatten(list_of_lists: list) -> list:
        """Concatenate a list of lists."""
        return [item for inner in list_of_lists for item in inner]

    @task(version="1")
    def const(value: Any, *after: Any) -> Any:
        """``value``, once every expression in ``after`` has been evaluated."""
        return value

    @task(version="1", cache=False)
    def throw(error: BaseException) -> Any:
        """Raise ``error`` when evaluated."""
        raise error

    @task(version="2")
    def eval_(code: str, *args: Any, **kwargs: Any) -> Any:
        """Evaluate a Python expression with the keyword arguments as its variables, e.g.
        ``eval_("a + b", a=x(), b=y())``; positional arguments are named by ``pos_args``:
        ``eval_("x * 3", value, pos_args=["x"])``."""
        pos_args = kwargs.pop("pos_args", [])
        if len(pos_args) != len(args):
            raise TypeError(
                f"eval_ got {len(args)} positional argument(s) but pos_args names "
                f"{len(pos_args)}: {pos_args!r}"
            )
        variables = dict(zip(pos_args, args, strict=True))
        variables.update(kwargs)
        return eval(textwrap.dedent(code).strip(), variables)
