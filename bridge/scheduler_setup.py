"""A project's own scheduler setup function, as redun has it: ``[scheduler]
setup_scheduler = file_or_module::func`` in bridge.ini names ``func(config, **options)``,
which returns the Scheduler to run on; ``bridge run --setup key=value`` gives the options."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.native.settings import SchedulerSettings

if TYPE_CHECKING:
    from bridge.config import Config


class SetupError(Exception):
    """The setup function cannot be found, its options do not fit, or it failed."""


def make_scheduler(settings: SchedulerSettings, config: Config | None = None,
                   setup_args: tuple[str, ...] = ()) -> Any:
    """The setup function's Scheduler when ``config`` (the bridge.ini that ``settings``
    came from, None without one) names one, else ``Scheduler(config=settings)``."""
    from bridge.native.scheduler import Scheduler as NativeScheduler
    from bridge.scheduler import Scheduler

    path = config.scheduler.setup_scheduler if config is not None else None
    if path is None:
        if setup_args:
            raise SetupError(f"--setup {setup_args[0]}: no setup function is configured; "
                             "name one in bridge.ini as [scheduler] setup_scheduler = "
                             "FILE_OR_MODULE::FUNCTION")
        return Scheduler(config=settings)
    func = _setup_function(path)
    options = _setup_options(func, path, setup_args)
    try:
        scheduler = func(config, **options)
    except Exception as error:
        raise SetupError(f"setup function {path} failed: {type(error).__name__}: {error}") \
            from None
    if not isinstance(scheduler, NativeScheduler):
        raise SetupError(f"setup function {path} returned {type(scheduler).__name__}, "
                         "not a Scheduler: end it with `return scheduler`")
    return scheduler


def _setup_function(path: str) -> Callable[..., Any]:
    from bridge.loading import WorkflowError, load_workflow

    where, sep, name = path.rpartition("::")
    if not sep or not where or not name:
        raise SetupError(f"[scheduler] setup_scheduler = {path}: expected "
                         "FILE_OR_MODULE::FUNCTION (workflow.py::setup_scheduler)")
    try:
        module = load_workflow(where, as_module=not where.endswith(".py"))
    except WorkflowError as error:
        raise SetupError(f"[scheduler] setup_scheduler = {path}: {error}") from None
    func = getattr(module, name, None)
    if not callable(func):
        raise SetupError(f"[scheduler] setup_scheduler = {path}: {where} has no function "
                         f"{name!r}")
    return func


def _setup_options(func: Callable[..., Any], path: str,
                   setup_args: tuple[str, ...]) -> dict[str, Any]:
    """``("profile=dev", "workers=4")`` as keyword arguments of ``func``, each converted to
    its type hint (its parameters after the first, the config)."""
    from bridge.arguments import ArgumentError, convert

    params = list(inspect.signature(func).parameters.values())[1:]
    by_name = {param.name: param for param in params}
    try:
        hints = typing.get_type_hints(func)
    except NameError:  # a hint imported only for type checkers: take the values as text
        hints = {}
    options: dict[str, Any] = {}
    for pair in setup_args:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise SetupError(f"--setup {pair!r}: expected key=value")
        if key not in by_name:
            known = ", ".join(param.name for param in params) or "none"
            raise SetupError(f"--setup {pair!r}: setup function {path} has no option "
                             f"{key!r}; its options: {known}")
        try:
            options[key] = convert(text, hints.get(key, str), f"--setup {key}",
                                   f"setup function {path}")
        except ArgumentError as error:
            raise SetupError(str(error)) from None
    return options
