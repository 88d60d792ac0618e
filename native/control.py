"""Control flow: special forms the scheduler evaluates lazily (cond, seq, catch,
apply_tags) and small built-in tasks (map_, flatten, const, throw, eval_)."""

from __future__ import annotations

import inspect
import pickle
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.native.context import read_context
from bridge.native.expression import QuotedExpression, SpecialForm, quote
from bridge.native.hashing import hash_parts, hash_value
from bridge.native.job import NO_SOURCES
from bridge.native.promise import Promise
from bridge.native.task import Task, function_source, namespace, normalise_tags, task

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


def catch(expression: Any, *handlers: Any) -> Any:
    """``catch(expr, ValueError, recover, ...)``: if evaluating ``expr`` raises one of the
    exception classes (a class or a tuple of classes), the result is ``recover(error)`` (a
    task or a module-level function). More pairs may follow. The catch is a call of its
    own (``bridge.catch``): a recovered result is cached, and a re-run replays it."""
    if len(handlers) < 2 or len(handlers) % 2:
        raise TypeError("catch(expression, ExceptionClass, recover, ...) takes handler pairs")
    for error_class, recover in zip(handlers[::2], handlers[1::2], strict=True):
        classes = error_class if isinstance(error_class, tuple) else (error_class,)
        if not classes or not all(
            isinstance(c, type) and issubclass(c, BaseException) for c in classes
        ):
            raise TypeError(
                f"catch: {error_class!r} is not an exception class or a tuple of them"
            )
        if not callable(recover):
            raise TypeError(f"catch: {recover!r} is not callable")
    return _catch(quote(expression), *(
        item if isinstance(item, tuple | type | Task) else _Recover(item) for item in handlers
    ))


# Built-in tasks that only wrap the expression they are given (its calls are recorded beneath
# them): an exported DAG shows those calls in their place.
WRAPPER_TASKS = frozenset({"bridge.catch"})


def wrapped_expression(call: Any) -> Any:
    """What a call of a wrapper task (``catch(quote(expr), ...)``) surely evaluates:
    ``expr``."""
    return call.args[0].expression


class _Recover:
    """A plain function as a catch handler, hashed by its code (a lambda does not pickle,
    so it cannot hash by its pickle), so editing it re-runs the recovery."""

    __slots__ = ("func",)

    def __init__(self, func: Callable) -> None:
        self.func = func

    def __call__(self, error: BaseException) -> Any:
        return self.func(error)

    def __reduce__(self) -> tuple:
        try:
            pickle.dumps(self.func, protocol=5)
        except Exception:  # a lambda or local function: recorded by name only
            return (_unavailable_handler, (self.func.__qualname__,))
        return (_Recover, (self.func,))

    def __bridge_hash__(self) -> str:
        if inspect.isfunction(self.func):
            return hash_parts("recover", [self.func.__qualname__, function_source(self.func)])
        return hash_value(self.func)


def _unavailable_handler(name: str) -> _Recover:
    def unavailable(error: BaseException) -> Any:
        raise RuntimeError(f"the catch handler {name} (a lambda or local function) cannot be "
                           "loaded in another process: use a task or a module-level function")

    return _Recover(unavailable)


def no_prov(expression: Any) -> Any:
    """Evaluate ``expression`` without recording the calls beneath it (as ``prov=False``
    tasks); the ``no_prov`` call itself is recorded and cached, so a re-run replays the
    whole of it."""
    return _no_prov(quote(expression))


def apply_tags(
    value: Any,
    tags: Any = None,
    job_tags: Any = None,
    execution_tags: Any = None,
) -> SpecialForm:
    """Evaluate ``value`` and tag it (and optionally the calling job and the execution).
    Tags are a list of (key, value) pairs, or a dict."""
    params = {
        "tags": normalise_tags(tags, "apply_tags"),
        "job_tags": normalise_tags(job_tags, "apply_tags job_tags"),
        "execution_tags": normalise_tags(execution_tags, "apply_tags execution_tags"),
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
        params = form.params
        execution.add_tags("value", hash_value(value_sources[0]), params["tags"])
        if parent is not None:
            execution.add_tags("job", parent.id, params["job_tags"])
        execution.add_tags("execution", execution.id, params["execution_tags"])
        result.resolve(value_sources)

    execution.reduce(form.operands[0], parent).then(tag, result.reject)
    return result


def _evaluate_context(execution: Execution, form: SpecialForm, parent: Job | None) -> Promise:
    """``get_context(...)`` in a returned expression: the value in the calling job's
    context; the read is noted in that job's subtree (see bridge.native.context)."""
    params = form.params
    context = parent.context if parent is not None else execution.context
    value, mark = read_context(context, params["path"], params["default"])
    if parent is not None:
        parent.add_subtree_tasks((mark,))
    result = Promise(execution.ready)
    result.resolve((value, NO_SOURCES))
    return result


_EVALUATORS: dict[str, Callable[[Execution, SpecialForm, Any], Promise]] = {
    "cond": _evaluate_cond,
    "seq": _evaluate_seq,
    "catch": _evaluate_catch,
    "apply_tags": _evaluate_apply_tags,
    "context": _evaluate_context,
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

    @task(name="catch", version="1")
    def _catch(quoted: QuotedExpression, *handlers: Any) -> Any:
        """Evaluate the quoted expression under this call, recovering from errors."""
        return SpecialForm("catch", (quoted.expression,), {"handlers": handlers})

    @task(name="no_prov_helper", version="1", prov=False, cache=False)
    def _no_prov_helper(quoted: QuotedExpression) -> Any:
        """Evaluate the quoted expression with provenance off for everything beneath."""
        return quoted.expression

    @task(name="no_prov", version="1", check_valid="shallow")
    def _no_prov(quoted: QuotedExpression) -> Any:
        """The recorded, cached call that stands for an unrecorded subtree."""
        return _no_prov_helper(quoted)

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
