"""Tasks: decorated functions whose calls are lazy, hashed and cached."""

from __future__ import annotations

import ast
import enum
import functools
import importlib
import importlib.util
import inspect
import linecache
import re
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any

from bridge.native.binding import Binding
from bridge.native.expression import NO_KWARGS, TaskCall
from bridge.native.hashing import hash_parts, hash_text, hash_value

CHECK_VALID_MODES = ("full", "shallow")
_current_namespace: list[str | None] = [None]
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_NAMESPACE = re.compile(r"[A-Za-z_][A-Za-z_0-9.]*")

Tags = list[tuple[str, Any]]


class TaskError(Exception):
    """A task was declared or called in a way bridge cannot accept."""


class CacheScope(enum.StrEnum):
    """Where a call's result may come from instead of its body running (redun's names;
    ``cache=True`` is ``BACKEND``, ``cache=False`` is ``CSE``)."""

    NONE = "NONE"  # nowhere: every call runs, even one identical to another of its run
    CSE = "CSE"  # an identical call of the same execution only
    BACKEND = "BACKEND"  # also the cache entries earlier executions left (the default)


class CacheCheckValid(enum.StrEnum):
    """redun's names for ``check_valid``'s modes (equal to the strings)."""

    FULL = "full"
    SHALLOW = "shallow"


def cache_scope(value: Any, where: str) -> CacheScope:
    """``value``, a CacheScope or its name in any case, as a CacheScope."""
    try:
        return CacheScope(value.upper() if type(value) is str else value)
    except ValueError:
        raise TaskError(f"{where}: cache_scope={value!r} is not one of "
                        f"{', '.join(scope.value for scope in CacheScope)}") from None


def _scope_in(options: dict, default: CacheScope, where: str) -> CacheScope:
    """The scope ``options`` give by ``cache_scope`` or by redun's older ``cache``, else
    ``default``."""
    if "cache_scope" in options:
        return cache_scope(options["cache_scope"], where)
    if "cache" in options:
        return CacheScope.BACKEND if options["cache"] else CacheScope.CSE
    return default


def call_cache_scope(task: Task, call_options: dict | None) -> CacheScope:
    """A call's cache scope: its call site's ``cache_scope`` or ``cache`` (those handed
    down to it among them), else its task's."""
    if not call_options:
        return task.cache_scope
    return _scope_in(call_options, task.cache_scope, f"a call of {task.fullname}")


class TaskNameError(TaskError, ValueError):
    """A task name or namespace that is not an identifier (path)."""


def _get_task_option(self: Any, name: str, default: Any = None) -> Any:
    """One option of ``get_task_options()``, or ``default`` when it is not set."""
    return self.get_task_options().get(name, default)


def _has_task_option(self: Any, name: str) -> bool:
    """Whether ``get_task_options()`` sets ``name``."""
    return name in self.get_task_options()


class Task:
    """A registered task. Calling it returns a :class:`TaskCall` expression."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        namespace: str | None = None,
        version: str | None = None,
        cache: bool = True,
        check_valid: str = "full",
        executor: str = "default",
        limits: dict[str, int] | list[str] | None = None,
        retries: int = 0,
        hash_includes: list[Any] | None = None,
        nout: int | None = None,
        prov: bool = True,
        tags: Any = None,
        options: dict[str, Any] | None = None,
        script: bool = False,
        source: str | None = None,
        export_options: dict[str, Any] | None = None,
    ) -> None:
        if check_valid not in CHECK_VALID_MODES:
            raise TaskError(
                f"task {func.__qualname__}: check_valid={check_valid!r} is not one of "
                f"{', '.join(CHECK_VALID_MODES)}"
            )
        if not isinstance(retries, int) or retries < 0:
            raise TaskError(f"task {func.__qualname__}: retries must be a whole number >= 0")
        # A script task's body returns shell text; the task runs it (see _script_body).
        self.script = script
        self.func = _script_body(func, executor, options or {}) if script else func
        self._is_async = inspect.iscoroutinefunction(self.func)  # asked at every call
        self.name = name or func.__name__
        self.namespace = namespace if namespace is not None else _default_namespace(func)
        _check_names(self.name, self.namespace)
        self.fullname = f"{self.namespace}.{self.name}" if self.namespace else self.name
        self.version = version
        self.check_valid = check_valid
        self.executor = executor
        self.limits = normalise_limits(limits)
        self.retries = retries
        self.hash_includes = list(hash_includes or [])
        # Options handed down to every call beneath this task's calls (redun's export).
        self.export_keys = frozenset(export_options or ())
        self.executor_options = {**(options or {}), **(export_options or {})}
        self.cache_scope = _scope_in(self.executor_options,
                                     CacheScope.BACKEND if cache else CacheScope.CSE,
                                     f"task {func.__qualname__}")
        if "cache_scope" in self.executor_options:  # its name as given: the member
            self.executor_options["cache_scope"] = self.cache_scope
        self.cache = self.cache_scope is CacheScope.BACKEND
        self.prov = bool(prov)
        self.tags = normalise_tags(tags, f"task {self.name}")
        self.signature = inspect.signature(func)
        if nout is not None:  # else nout reads the return annotation when first asked
            self.nout = check_nout(nout, self.name)
        self.binding = Binding(self.fullname, self.signature)
        # bridge's own tasks (script, copy_file, ...) are tools run on behalf of the task
        # whose body called them: their calls hash in that task's hash too.
        self.is_builtin = func.__module__.startswith("bridge.native.")
        self.positional_names = [
            p.name for p in self.signature.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        self._hash: str | None = None
        functools.update_wrapper(self, func)  # type: ignore[arg-type]
        if source is not None:  # the caller vouches that it is func's source; it is hashed
            self.source = source

    def __call__(self, *args: Any, **kwargs: Any) -> TaskCall:
        return TaskCall(self, args, kwargs or NO_KWARGS)

    def options(self, **options: Any) -> TaskOptions:
        """Override executor or scheduling options at one call site."""
        return TaskOptions(self, options)

    def update_context(self, context: dict | None = None, **values: Any) -> TaskOptions:
        """This task with context values set for its call and everything it calls."""
        return TaskOptions(self, {}).update_context(context, **values)

    def export_options(self, **options: Any) -> TaskOptions:
        """Options for this call and, unless a call beneath sets them, every call beneath."""
        return TaskOptions(self, {}).export_options(**options)

    def is_async(self) -> bool:
        """Whether the body is a coroutine function (``async def``)."""
        return self._is_async

    __class_getitem__ = classmethod(types.GenericAlias)  # Task[[int], int] in annotations

    def partial(self, *args: Any, **kwargs: Any) -> Any:
        """This task with some arguments given now and the rest later (a PartialTask)."""
        from bridge.native.partial import PartialTask

        return PartialTask(self, args, kwargs)

    def get_task_options(self) -> dict[str, Any]:
        """The options given to ``@task`` (``executor`` when not the default)."""
        given = {"executor": self.executor} if self.executor != "default" else {}
        return {**given, **self.executor_options}

    get_task_option = _get_task_option
    has_task_option = _has_task_option

    @functools.cached_property
    def nout(self) -> int | None:
        """How many items a call unpacks into: ``nout=``, else the length of a fixed-size
        ``tuple[...]`` return annotation (resolved on first use, not at definition)."""
        return _tuple_length(self.func)

    def get_hash(self) -> str:
        """The task's hash (``task.hash``), as redun's ``Task.get_hash()`` names it."""
        return self.hash

    def __repr__(self) -> str:
        return f"<Task {self.fullname}>"

    def __reduce__(self) -> tuple:
        return (load_task, (self.fullname, self.func.__module__, _source_file(self.func)))

    @property
    def hash(self) -> str:
        if self._hash is None:
            body = "version:" + self.version if self.version is not None else self.source
            parts = [hash_text("task:" + self.fullname), hash_text(body)]
            parts += [hash_value(item) for item in self.hash_includes]
            self._hash = hash_parts("task", parts)
        return self._hash

    def __bridge_hash__(self) -> str:
        return self.hash

    @functools.cached_property
    def context_parameters(self) -> list[tuple[str, Any]]:
        """Parameters whose default is ``get_context(...)``: (name, the read)."""
        from bridge.native.context import is_context_read

        return [(p.name, p.default) for p in self.signature.parameters.values()
                if is_context_read(p.default)]

    @functools.cached_property
    def context_options(self) -> list[tuple[str, Any]]:
        """Options whose value is ``get_context(...)`` (``executor=``, ``memory=``, ...)."""
        from bridge.native.context import is_context_read

        options = {"executor": self.executor, **self.executor_options}
        return [(name, value) for name, value in options.items() if is_context_read(value)]

    def context_parameters_left(self, args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
        """The ``get_context(...)`` parameters a call leaves to their default."""
        given = set(kwargs) | set(self.positional_names[: len(args)])
        return [(name, form) for name, form in self.context_parameters if name not in given]

    @functools.cached_property
    def source(self) -> str:
        return function_source(inspect.unwrap(self.func) if self.script else self.func)

    def option(self, name: str, call_options: dict | None = None, default: Any = None) -> Any:
        """An executor or scheduling option: the call site's override, else the task's."""
        if call_options and name in call_options:
            return call_options[name]
        if name == "executor":
            return self.executor
        return self.executor_options.get(name, default)


class TaskOptions:
    """A task with call-site option overrides: ``my_task.options(memory=8)(x)``."""

    def __init__(self, task: Task, options: dict[str, Any]) -> None:
        self.task = task
        self.call_options = options

    def __call__(self, *args: Any, **kwargs: Any) -> TaskCall:
        return TaskCall(self.task, args, kwargs or NO_KWARGS, self.call_options)

    def __getattr__(self, name: str) -> Any:
        # name, fullname, func, hash, ...: the task's own, as on redun's task.options(...)
        if name.startswith("_") or name == "task":
            raise AttributeError(name)
        return getattr(self.task, name)

    def __repr__(self) -> str:
        return f"<Task {self.task.fullname} options={self.get_task_options()!r}>"

    def get_task_options(self) -> dict[str, Any]:
        """The task's options with this call site's overrides."""
        return with_overrides(self.task, self.call_options)

    get_task_option = _get_task_option
    has_task_option = _has_task_option

    def options(self, **options: Any) -> TaskOptions:
        return TaskOptions(self.task, {**self.call_options, **options})

    def export_options(self, **options: Any) -> TaskOptions:
        exported = self.call_options.get("_export", frozenset()) | frozenset(options)
        return TaskOptions(self.task, {**self.call_options, **options, "_export": exported})

    def update_context(self, context: dict | None = None, **values: Any) -> TaskOptions:
        from bridge.native.context import merge_contexts

        override = merge_contexts(self.call_options.get("_context") or {}, context or {}, values)
        return TaskOptions(self.task, {**self.call_options, "_context": override})

    def partial(self, *args: Any, **kwargs: Any) -> Any:
        from bridge.native.partial import PartialTask

        return PartialTask(self.task, args, kwargs, self.call_options)


def with_overrides(task: Task, call_options: dict[str, Any]) -> dict[str, Any]:
    """The task's options with a call site's over them (not bridge's own ``_context``,
    ``_export``)."""
    overrides = {k: v for k, v in call_options.items() if not k.startswith("_")}
    return {**task.get_task_options(), **overrides}


def _script_body(func: Callable, executor: str, options: dict[str, Any]) -> Callable:
    """The body of ``@task(script=True)``: run the shell text ``func`` returns with
    ``script()`` on the task's executor; the call's result is the script's stdout."""

    @functools.wraps(func)
    def body(*args: Any, **kwargs: Any) -> Any:
        from bridge.native.script import script

        return script(func(*args, **kwargs), executor=executor, **options)

    return body


def normalise_limits(limits: dict[str, int] | list[str] | None) -> dict[str, int]:
    """``limits=`` as {resource: count}; a list names resources taken one each."""
    if not limits:
        return {}
    if isinstance(limits, dict):
        return {str(k): int(v) for k, v in limits.items()}
    return {str(name): 1 for name in limits}


def normalise_tags(tags: Any, where: str) -> Tags:
    """Tags as a list of (key, value) pairs, from pairs or a dict."""
    if not tags:
        return []
    pairs = list(tags.items()) if isinstance(tags, dict) else list(tags)
    for pair in pairs:
        if not (isinstance(pair, tuple | list) and len(pair) == 2 and isinstance(pair[0], str)):
            raise TaskError(f"{where}: tags must be (key, value) pairs or a dict, not {pair!r}")
    return [(key, value) for key, value in pairs]


def check_nout(nout: Any, name: str) -> int:
    """``nout=``: how many items a call unpacks into."""
    if not isinstance(nout, int) or isinstance(nout, bool) or nout < 0:
        raise TypeError(f"task {name}: nout must be a whole number >= 0, not {nout!r}")
    return nout


def _tuple_length(func: Callable) -> int | None:
    """The length of a fixed-size ``tuple[...]`` return annotation; None for any other."""
    try:
        returns = typing.get_type_hints(func).get("return")
    except Exception:  # an annotation that does not resolve: no length
        return None
    if typing.get_origin(returns) is not tuple:
        return None
    items = typing.get_args(returns)
    if Ellipsis in items:
        return None
    return 0 if items == ((),) else len(items)


def _check_names(name: str, namespace: str | None) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise TaskNameError(
            f"task name {name!r} is not an identifier: use letters, digits and '_', not "
            "starting with a digit (@task(name=...))"
        )
    if namespace and not _NAMESPACE.fullmatch(namespace):
        raise TaskNameError(
            f"task namespace {namespace!r} is not a dotted identifier path: use letters, "
            "digits, '_' and '.', not starting with a digit or a dot"
        )


def _default_namespace(func: Callable) -> str | None:
    if _current_namespace[-1] is not None:
        return _current_namespace[-1]
    module = sys.modules.get(func.__module__)
    return getattr(module, "bridge_namespace", None) or getattr(module, "redun_namespace", None)


class namespace:
    """``with namespace("acme"):`` gives every task defined inside the block this
    namespace; called plainly, ``namespace("acme")`` sets it for the tasks defined from
    then on (``namespace(None)`` unsets it), as redun's ``namespace()`` does."""

    def __init__(self, name: str | None = None) -> None:
        self._previous = _current_namespace[-1]
        _current_namespace[-1] = name or None

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: Any) -> None:
        _current_namespace[-1] = self._previous


def get_current_namespace() -> str:
    return _current_namespace[-1] or ""


def function_source(func: Callable) -> str:
    """The function's source with its decorators stripped, so re-decorating does not
    change the hash; falls back to the bytecode when there is no source (REPL)."""
    code = func.__code__
    linecache.checkcache(code.co_filename)  # the file may have been edited since
    lines = linecache.getlines(code.co_filename)
    span = _function_spans("".join(lines)).get(code.co_firstlineno)
    if span is None:
        return repr((code.co_code, code.co_consts, code.co_names))
    return textwrap.dedent("".join(lines[span[0] - 1 : span[1]])).rstrip("\n")


@functools.lru_cache(maxsize=64)
def _function_spans(source: str) -> dict[int, tuple[int, int]]:
    """For each function in a source file: the line its code object starts on (its first
    decorator) -> the lines of its ``def`` through its end. One parse per file version,
    cheaper than ``inspect.getsource`` per function."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    spans = {}
    for node in _function_definitions(tree.body):
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        spans[first] = (node.lineno, node.end_lineno or node.lineno)
    return spans


# The fields of a statement that hold statements (a ``def`` is one; no expression holds it).
_STATEMENT_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def _function_definitions(statements: list) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every ``def`` among these statements and the statements inside them (functions,
    classes, ``if``, ``try``, ...): a walk of statements only, a twentieth of the time of
    ``ast.walk``, which visits every expression too."""
    for node in statements:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node
        for field in _STATEMENT_FIELDS:
            inner = getattr(node, field, None)
            if inner:
                yield from _function_definitions(inner)


def _source_file(func: Callable) -> str | None:
    return getattr(sys.modules.get(func.__module__), "__file__", None)


def _location(func: Callable) -> str:
    code = getattr(inspect.unwrap(func), "__code__", None)
    if code is None:
        return f"{func.__module__}.{func.__qualname__}"
    return f"{code.co_filename}:{code.co_firstlineno}"


class TaskRegistry:
    """Every task defined in this process, by full name."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def register(self, task: Task) -> None:
        existing = self._tasks.get(task.fullname)
        if existing is not None and not _same_definition(existing.func, task.func):
            raise TaskError(
                f"two tasks are named {task.fullname!r}: one at {_location(existing.func)}, "
                f"another at {_location(task.func)}. Rename one, or give it a namespace "
                "(@task(namespace=...) or a module-level bridge_namespace = '...')"
            )
        self._tasks[task.fullname] = task

    def get(self, fullname: str) -> Task | None:
        return self._tasks.get(fullname)

    def __iter__(self) -> Iterator[Task]:
        return iter(list(self._tasks.values()))

    def __len__(self) -> int:
        return len(self._tasks)

    def snapshot(self) -> dict[str, Task]:
        return dict(self._tasks)

    def restore(self, snapshot: dict[str, Task]) -> None:
        """Back to the tasks of ``snapshot``: those defined since are forgotten."""
        self._tasks = dict(snapshot)


def _same_definition(a: Callable, b: Callable) -> bool:
    """A module loaded again (or a cell re-run) redefines a task; that is not a clash.
    Nor is a function of the same name defined again inside a function (tests that
    each define their own ``add``): the latest definition is the one the name stands
    for, as in redun."""
    local = "<locals>" in a.__qualname__ or "<locals>" in b.__qualname__
    if local and a.__name__ == b.__name__:
        return True
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__) or _location(
        a
    ) == _location(b)


registry = TaskRegistry()


def task(
    func: Callable | None = None,
    *,
    name: str | None = None,
    namespace: str | None = None,
    version: str | None = None,
    cache: bool = True,
    check_valid: str = "full",
    executor: str = "default",
    limits: dict[str, int] | list[str] | None = None,
    retries: int = 0,
    hash_includes: list[Any] | None = None,
    nout: int | None = None,
    prov: bool = True,
    tags: Any = None,
    script: bool = False,
    source: str | None = None,
    export_options: dict[str, Any] | None = None,
    **executor_options: Any,
) -> Any:
    """Declare a task: ``@task`` or ``@task(version="1", memory=4, ...)``. With
    ``script=True`` the body returns shell text, run as ``script(text)``. ``source=``
    replaces the function's source text in the task's hash (for generated functions);
    ``export_options=`` are options also handed down to every call beneath."""

    def decorate(fn: Callable) -> Task:
        new_task = Task(
            fn, name=name, namespace=namespace, version=version, cache=cache,
            check_valid=check_valid, executor=executor, limits=limits, retries=retries,
            hash_includes=hash_includes, nout=nout, prov=prov, tags=tags,
            options=executor_options, script=script, source=source,
            export_options=export_options,
        )
        registry.register(new_task)
        return new_task

    return decorate(func) if func is not None else decorate


def load_task(fullname: str, module: str, file: str | None) -> Task:
    """Find a task by name in another process, importing its module if needed."""
    found = registry.get(fullname)
    if found is not None:
        return found
    try:
        importlib.import_module(module)
    except ImportError:
        if not file:
            raise
        spec = importlib.util.spec_from_file_location(module, file)
        if spec is None or spec.loader is None:
            raise
        mod = importlib.util.module_from_spec(spec)
        sys.modules[module] = mod
        spec.loader.exec_module(mod)
    found = registry.get(fullname)
    if found is None:
        raise TaskError(f"task {fullname!r} is not defined in module {module!r}")
    return found
