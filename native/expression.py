"""Lazy expressions: what calling a task returns, and what operators on it build.

Expressions are plain, immutable-by-convention trees. The scheduler reduces them;
nothing here evaluates anything.
"""

from __future__ import annotations

import copy
import dataclasses
import operator
import threading
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.native.task import Task


# The keyword arguments of every call given none, shared (never changed: whoever adds
# to a call's keyword arguments makes a new dict): a fan-out holds its 100,000 calls.
NO_KWARGS: dict[str, Any] = {}


class Expression:
    """Base of every lazy value. Indexing, attribute access, calls and operators
    build new expressions; truth-testing is refused because it cannot be lazy."""

    __slots__ = ("__weakref__",)
    __hash__ = object.__hash__
    __class_getitem__ = classmethod(types.GenericAlias)  # Expression[int] in annotations

    def __bridge_hash__(self) -> str:
        """A lazy value held by a plain value (a PartialTask's arguments) hashes by its
        structure: its class and its parts."""
        from bridge.native.hashing import hash_parts, hash_value

        parts = [hash_value(part) for part in self._hash_fields()]
        return hash_parts("expression:" + type(self).__name__, parts)

    def _hash_fields(self) -> tuple:
        raise NotImplementedError

    def __getitem__(self, key: Any) -> GetItem | list[GetItem]:
        """``expr[k]`` is lazy. A slice with plain non-negative bounds (``expr[1:3]``) is,
        as in redun, a list of lazy items, so it can be iterated and measured; any other
        slice (``expr[2:]``, ``expr[-2:]``) is one lazy slice."""
        if isinstance(key, slice) and _fixed_bounds(key):
            return [GetItem(self, i) for i in range(key.start or 0, key.stop, key.step or 1)]
        return GetItem(self, key)

    def __getattr__(self, name: str) -> GetAttr:
        if name.startswith("_"):
            raise AttributeError(name)
        return GetAttr(self, name)

    def __call__(self, *args: Any, **kwargs: Any) -> CallValue:
        return CallValue(self, args, kwargs)

    def __bool__(self) -> bool:
        raise TypeError(
            f"{self!r} is lazy and has no truth value yet: use bridge.cond(...) to branch "
            "on it, or do the test inside a task that receives the evaluated value"
        )

    def __format__(self, spec: str) -> str:
        raise TypeError(
            f"{self!r} is lazy and has no text yet: an f-string or format() would write the "
            "call, not its value. Build the text inside a task that receives the evaluated "
            "value (f\"{expr!r}\" still shows the call itself)"
        )

    def __await__(self):
        """``await expr`` in an async task's body: the value, evaluated by the scheduler
        under the awaiting job (see bridge.native.awaiting)."""
        from bridge.native.awaiting import evaluate_awaited

        created = getattr(_body_tracking, "created", None)
        if created:  # the calls it reaches are used, not dropped: no unreturned warning
            created[:] = unreturned_calls(created, self)
        return evaluate_awaited(self)
        yield  # a generator, as __await__ must be; the value is known without suspending

    def __iter__(self):
        raise TypeError(
            f"{self!r} is lazy and cannot be iterated yet: iterate inside a task that "
            "receives the evaluated value, or use bridge.map_(...)"
        )


def _fixed_bounds(key: slice) -> bool:
    def plain(part: Any) -> bool:
        return type(part) is int and part >= 0

    return (plain(key.stop) and (key.start is None or plain(key.start))
            and (key.step is None or (plain(key.step) and key.step > 0)))


class TaskCall(Expression):
    """A call of a task with (possibly lazy) arguments."""

    __slots__ = ("args", "kwargs", "options", "task")

    def __init__(
        self, task: Task, args: tuple, kwargs: dict, options: dict | None = None
    ) -> None:
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.options = options
        created = getattr(_body_tracking, "created", None)
        if created is not None:
            created.append(self)

    def __repr__(self) -> str:
        return f"{self.task.fullname}({format_arguments(self.args, self.kwargs)})"

    def __iter__(self):
        """``a, b = pair()``: the call's items as lazy ``[0]``, ``[1]``, ... when the task
        says how many there are (``nout=``, or a fixed-size ``tuple[...]`` return)."""
        nout = (self.options or {}).get("nout", self.task.nout)
        if nout is None:
            name = self.task.fullname
            raise TypeError(
                f"{name}(...) is lazy and bridge does not know how many items it returns, so "
                f"it cannot be unpacked or iterated: annotate {self.task.name}'s return as a "
                "fixed-size tuple (-> tuple[int, str]) or declare @task(nout=N); to loop over "
                "a list, iterate inside a task or use bridge.map_(...)"
            )
        return iter([GetItem(self, index) for index in range(nout)])

    @property
    def task_name(self) -> str:
        return self.task.fullname

    @property
    def _options(self) -> dict:
        return dict(self.options or {})

    def _hash_fields(self) -> tuple:
        return (self.task, self.args, self.kwargs, self.options or {})


class SimpleExpression(Expression):
    """An operator, index, attribute or call applied to lazy values."""

    __slots__ = ()


class ValueExpression(Expression):
    """A lazy wrapper of a plain value: evaluates to the value itself."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"ValueExpression({self.value!r})"

    def _hash_fields(self) -> tuple:
        return (self.value,)


class QuotedExpression:
    """An expression carried as a plain value (``quote(expr)``): reduction leaves it alone,
    so the task that receives it gets it unevaluated, and evaluates it by returning
    ``quoted.eval()`` (catch and no_prov do so under their own job). It hashes by the
    expression's structure."""

    __slots__ = ("expression",)

    def __init__(self, expression: Any) -> None:
        self.expression = expression

    def eval(self) -> Any:
        return self.expression

    def lazy_parts(self) -> tuple:
        return (self.expression,)

    def __bridge_hash__(self) -> str:
        from bridge.native.hashing import hash_parts, hash_value

        return hash_parts("quoted", [hash_value(self.expression)])

    def __repr__(self) -> str:
        return f"quote({self.expression!r})"


def quote(expr: Any) -> QuotedExpression:
    """Keep ``expr`` from being evaluated when passed to a task."""
    return QuotedExpression(expr)


class GetItem(SimpleExpression):
    __slots__ = ("base", "key")

    def __init__(self, base: Any, key: Any) -> None:
        self.base = base
        self.key = key

    def __repr__(self) -> str:
        key = self.key
        if isinstance(key, slice):
            parts = ["" if part is None else repr(part) for part in (key.start, key.stop)]
            shown = ":".join(parts) + ("" if key.step is None else f":{key.step!r}")
            return f"{self.base!r}[{shown}]"
        return f"{self.base!r}[{key!r}]"

    def _hash_fields(self) -> tuple:
        return (self.base, self.key)


class GetAttr(SimpleExpression):
    __slots__ = ("base", "name")

    def __init__(self, base: Any, name: str) -> None:
        self.base = base
        self.name = name

    def __repr__(self) -> str:
        return f"{self.base!r}.{self.name}"

    def _hash_fields(self) -> tuple:
        return (self.base, self.name)


class CallValue(SimpleExpression):
    """A call of a value that is itself lazy (a function returned by a task)."""

    __slots__ = ("args", "func", "kwargs")

    def __init__(self, func: Any, args: tuple, kwargs: dict) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        return f"{self.func!r}({format_arguments(self.args, self.kwargs)})"

    def _hash_fields(self) -> tuple:
        return (self.func, self.args, self.kwargs)


class Operation(SimpleExpression):
    """An operator applied to lazy operands, e.g. ``add_one(1) + 2``."""

    __slots__ = ("name", "operands")

    def __init__(self, name: str, *operands: Any) -> None:
        self.name = name
        self.operands = operands

    def apply(self, *values: Any) -> Any:
        return OPERATORS[self.name](*values)

    def __repr__(self) -> str:
        """Python's own syntax, parenthesised: ``(add(1, 2) + 3)``, ``-add(1, 2)``."""
        symbol = SYMBOLS.get(self.name)
        if symbol is not None and len(self.operands) == 2:
            left, right = self.operands
            return f"({left!r} {symbol} {right!r})"
        if symbol is not None and len(self.operands) == 1:
            return f"{symbol}{self.operands[0]!r}"
        return f"{self.name}({format_arguments(self.operands, {})})"

    def _hash_fields(self) -> tuple:
        return (self.name, self.operands)


class SpecialForm(Expression):
    """Control flow the scheduler evaluates itself (cond, catch, seq, apply_tags):
    its operands are reduced lazily, in the order the form decides."""

    __slots__ = ("kind", "operands", "params")

    def __init__(self, kind: str, operands: tuple, params: dict | None = None) -> None:
        self.kind = kind
        self.operands = operands
        self.params = params or {}

    def __repr__(self) -> str:
        return f"{self.kind}({format_arguments(self.operands, self.params)})"

    def _hash_fields(self) -> tuple:
        return (self.kind, self.operands, self.params)


def format_arguments(args: tuple, kwargs: dict) -> str:
    """Call arguments as Python writes them: ``1, 'x', b=2`` (keywords sorted, as redun
    shows them)."""
    shown = [repr(arg) for arg in args]
    shown += [f"{name}={value!r}" for name, value in sorted(kwargs.items())]
    return ", ".join(shown)


SYMBOLS = {
    "add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%",
    "pow": "**", "and": "&", "or": "|", "xor": "^", "lt": "<", "le": "<=", "eq": "==",
    "ne": "!=", "gt": ">", "ge": ">=", "neg": "-", "pos": "+", "invert": "~",
}

OPERATORS: dict[str, Callable[..., Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul,
    "truediv": operator.truediv, "floordiv": operator.floordiv, "mod": operator.mod,
    "pow": operator.pow, "and": operator.and_, "or": operator.or_, "xor": operator.xor,
    "lt": operator.lt, "le": operator.le, "eq": operator.eq, "ne": operator.ne,
    "gt": operator.gt, "ge": operator.ge, "neg": operator.neg, "pos": operator.pos,
    "invert": operator.invert, "abs": operator.abs,
}


def _binary(name: str) -> tuple[Callable, Callable]:
    def forward(self: Expression, other: Any) -> Operation:
        return Operation(name, self, other)

    def reverse(self: Expression, other: Any) -> Operation:
        return Operation(name, other, self)

    return forward, reverse


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor"):
    _fwd, _rev = _binary(_name)
    setattr(Expression, f"__{_name}__", _fwd)
    setattr(Expression, f"__r{_name}__", _rev)
for _name in ("lt", "le", "eq", "ne", "gt", "ge"):
    setattr(Expression, f"__{_name}__", _binary(_name)[0])
for _name in ("neg", "pos", "invert", "abs"):
    setattr(Expression, f"__{_name}__", lambda self, _n=_name: Operation(_n, self))
Expression.__hash__ = object.__hash__  # defining __eq__ above would otherwise drop it


# -- tracking expressions built inside a task body -------------------------------------

_body_tracking = threading.local()


def start_body_tracking() -> None:
    _body_tracking.created = []


def stop_body_tracking() -> list[TaskCall]:
    created = getattr(_body_tracking, "created", None) or []
    _body_tracking.created = None
    return created


_LEAVES = frozenset({str, int, float, bool, bytes, type(None)})


def record_fields(value: Any) -> dict[str, Any] | None:
    """The fields of a dataclass instance or a pydantic model by name; None for any
    other value. Lazy values inside them are reduced like those inside a dict."""
    cls = type(value)
    if cls in _LEAVES:
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    names = getattr(cls, "model_fields", None)
    if isinstance(names, dict) and hasattr(cls, "model_copy"):
        return {name: getattr(value, name) for name in names}
    return None


def with_fields(value: Any, fields: dict[str, Any]) -> Any:
    """A copy of a dataclass instance or pydantic model with ``fields`` replaced; frozen
    ones too (the copy is new, so setting its fields breaks no one's assumption)."""
    if hasattr(type(value), "model_copy"):
        return value.model_copy(update=fields)
    built = copy.copy(value)
    for name, item in fields.items():
        object.__setattr__(built, name, item)
    return built


def contains_expression(value: Any) -> bool:
    """True when ``value`` is, or nests inside lists/tuples/dicts/sets, dataclasses or
    pydantic models, an Expression."""
    if isinstance(value, Expression):
        return True
    cls = type(value)
    if cls is list or cls is tuple or cls is set or cls is frozenset:
        return any(contains_expression(v) for v in value)
    if cls is dict:
        return any(contains_expression(v) for v in value.values()) or any(
            contains_expression(k) for k in value
        )
    if isinstance(value, tuple):
        return any(contains_expression(v) for v in value)
    fields = record_fields(value)
    return fields is not None and any(contains_expression(v) for v in fields.values())


def _children(expr: Any) -> tuple:
    if isinstance(expr, TaskCall):
        return (*expr.args, *expr.kwargs.values())
    if isinstance(expr, GetItem):
        return (expr.base, expr.key)
    if isinstance(expr, GetAttr):
        return (expr.base,)
    if isinstance(expr, CallValue):
        return (expr.func, *expr.args, *expr.kwargs.values())
    if isinstance(expr, Operation | SpecialForm):
        return expr.operands
    if isinstance(expr, ValueExpression):
        return (expr.value,)
    lazy_parts = getattr(type(expr), "lazy_parts", None)
    if lazy_parts is not None:  # a PartialTask's arguments, a quoted expression
        return lazy_parts(expr)
    if isinstance(expr, dict):
        return (*expr.keys(), *expr.values())
    if isinstance(expr, list | tuple | set | frozenset):
        return tuple(expr)
    fields = record_fields(expr)
    return tuple(fields.values()) if fields is not None else ()


def unreturned_calls(created: list[TaskCall], returned: Any) -> list[TaskCall]:
    """The task calls built in a body that the body's return value does not reach."""
    if not created:
        return []
    reachable: set[int] = set()
    stack = [returned]
    while stack:
        node = stack.pop()
        if type(node) in _LEAVES or id(node) in reachable:  # a call's plain arguments
            continue
        children = _children(node)
        if isinstance(node, Expression) or children:
            reachable.add(id(node))
            stack.extend(children)
    return [call for call in created if id(call) not in reachable]
