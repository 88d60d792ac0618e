"""The `bridge` command. Heavy modules (SQLAlchemy, pydantic, rich) load inside commands,
so `bridge --help` and `bridge --version` stay fast."""

from __future__ import annotations

import sys
from typing import Any

import click

from bridge import __version__


class UserError(click.ClickException):
    """A mistake in what the user asked for: one clear line, exit code 2, no traceback."""

    exit_code = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bridge")
def cli() -> None:
    """bridge runs Python workflows of lazy, cached tasks and records their call graph."""


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                               "help_option_names": []})
@click.argument("workflow")
@click.argument("task_name", required=False)
@click.option("-m", "as_module", is_flag=True, help="WORKFLOW is a module name, not a file.")
@click.option("--config", "config_dir", help="Config folder (default .bridge, or BRIDGE_CONFIG).")
@click.option("--no-cache", is_flag=True, help="Run every call, even those cached.")
@click.pass_context
def run(ctx: click.Context, workflow: str, task_name: str | None, as_module: bool,
        config_dir: str | None, no_cache: bool) -> None:
    """Run TASK_NAME of WORKFLOW (a file, or a module with -m) with --arg value pairs."""
    from bridge.arguments import ArgumentError, parse_task_arguments
    from bridge.loading import WorkflowError, find_task, load_workflow, workflow_tasks

    try:
        module = load_workflow(workflow, as_module)
        if task_name is None or task_name in ("-h", "--help"):
            _print_tasks(workflow, workflow_tasks(module))
            return
        task = find_task(module, task_name)
        if any(arg in ("-h", "--help") for arg in ctx.args):
            click.echo(task_help(task))
            return
        kwargs = parse_task_arguments(task, list(ctx.args))
    except (WorkflowError, ArgumentError) as error:
        raise UserError(str(error)) from None
    result = _run_task(task, kwargs, config_dir, no_cache)
    click.echo(_format_result(result))


def _run_task(task: Any, kwargs: dict, config_dir: str | None, no_cache: bool) -> Any:
    from bridge.config import Config, ConfigError
    from bridge.native.store import StoreError
    from bridge.scheduler import Scheduler

    try:
        config = Config.load(config_dir)
        scheduler = Scheduler(config=config)
        with scheduler:
            return scheduler.run(task(**kwargs), cache=not no_cache,
                                 description=" ".join(sys.argv[1:]) or task.fullname)
    except (ConfigError, StoreError) as error:
        raise UserError(str(error)) from None


def _format_result(result: Any) -> str:
    from pprint import pformat

    return pformat(result, width=100, sort_dicts=False)


def _print_tasks(workflow: str, tasks: list) -> None:
    if not tasks:
        click.echo(f"{workflow} defines no tasks")
        return
    click.echo(f"Tasks in {workflow}:")
    for task in sorted(tasks, key=lambda t: t.fullname):
        doc = (task.func.__doc__ or "").strip().splitlines()
        click.echo(f"  {task.fullname:<30} {doc[0] if doc else ''}")


def task_help(task: Any) -> str:
    lines = [f"Usage: bridge run WORKFLOW {task.fullname} [ARGS]", ""]
    if task.func.__doc__:
        lines += [task.func.__doc__.strip(), ""]
    lines.append("Arguments:")
    for param in task.signature.parameters.values():
        hint = "" if param.annotation is param.empty else getattr(
            param.annotation, "__name__", str(param.annotation))
        default = "" if param.default is param.empty else f" (default {param.default!r})"
        lines.append(f"  --{param.name.replace('_', '-'):<24} {hint}{default}")
    return "\n".join(lines)


def main() -> None:
    cli(prog_name="bridge")
