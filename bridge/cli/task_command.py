"""Commands that call a workflow's task (`bridge run`, `bridge prefect run`, `bridge airflow
export`): ``COMMAND [OPTIONS] WORKFLOW TASK_NAME [TASK ARGS]...``. The command's own options
go before the task's name; everything after it is the task's, so a task argument named like
one of the command's options (``--tag``, ``--config``, ``-o``) is always the task's."""

from __future__ import annotations

from typing import Any

import click

from bridge.cli.common import UserError

HELP = ("-h", "--help")
HELP_WORD = "help"  # redun's spelling: ``FILE help`` lists tasks, ``FILE TASK help`` helps
_LITERAL_TASK_NAME = "bridge.literal_task_name"  # ctx.meta: ``FILE -- NAME`` was given
COMMAND_HEAD = "bridge.command_head"  # ctx.meta: the command's tokens up to the task's name


class TaskCommand(click.Command):
    """Parses its own options and the two positionals (WORKFLOW, TASK_NAME) from the
    tokens up to the task's name; the tokens after it are left in ``ctx.args``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        end = self.task_name_end(ctx, args)
        super().parse_args(ctx, args[:end])
        ctx.args = args[end:]
        ctx.meta[COMMAND_HEAD] = args[:end]
        # ``FILE -- help`` names a task called help; a bare ``help`` asks for the list
        ctx.meta[_LITERAL_TASK_NAME] = end >= 2 and args[end - 2] == "--"
        return ctx.args

    def task_name_end(self, ctx: click.Context, args: list[str]) -> int:
        """The index just after the task's name (the second positional), or len(args)."""
        takes_value = {name: not (param.is_flag or param.count)
                       for param in self.get_params(ctx) if isinstance(param, click.Option)
                       for name in (*param.opts, *param.secondary_opts)}
        positionals = 0
        index = 0
        while index < len(args) and positionals < 2:
            token = args[index]
            index += 1
            if token.startswith("-") and token != "-":
                if takes_value.get(token) and index < len(args):
                    index += 1  # the option's value, as its own token
            else:
                positionals += 1
        return index

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [*super().collect_usage_pieces(ctx), "[TASK ARGS]..."]


def lists_tasks(ctx: click.Context, task_name: str | None) -> bool:
    """No task's name, or redun's ``help`` in its place (``-- help`` names a task)."""
    return task_name is None or (task_name == HELP_WORD
                                 and not ctx.meta.get(_LITERAL_TASK_NAME))


def own_options(ctx: click.Context) -> list[str]:
    """The command's own options (``--tag``, ``-o/--option``, ...), its help aside."""
    return ["/".join(param.opts) for param in ctx.command.get_params(ctx)
            if isinstance(param, click.Option) and not set(param.opts) & set(HELP)]


def workflow_task(workflow: str, task_name: str, as_module: bool = False) -> Any:
    """The task named in a workflow file (or module)."""
    from bridge.loading import WorkflowError, find_task, load_workflow

    try:
        return find_task(load_workflow(workflow, as_module), task_name)
    except WorkflowError as error:
        raise UserError(str(error)) from None


def task_call(ctx: click.Context, workflow: str, task_name: str,
              as_module: bool = False) -> tuple[Any, dict[str, Any]]:
    """The task named in a workflow, and its keyword arguments parsed from the tokens after
    its name (``--name value``); ``--help`` there (or ``help`` first) prints the task's
    arguments and exits."""
    from bridge.arguments import ArgumentError, UnknownArgumentError, parse_task_arguments

    task = workflow_task(workflow, task_name, as_module)
    if any(arg in HELP for arg in ctx.args) or ctx.args[:1] == [HELP_WORD]:
        click.echo(task_help(ctx, task))
        ctx.exit(0)
    try:
        return task, parse_task_arguments(task, list(ctx.args))
    except UnknownArgumentError as error:
        raise UserError(f"{error}{_misplaced_hint(ctx, error.token)}") from None
    except ArgumentError as error:
        raise UserError(str(error)) from None


def _misplaced_hint(ctx: click.Context, token: str) -> str:
    """When a token the task does not know is one of the command's own options."""
    flag = token.partition("=")[0]
    if not any(flag in names.split("/") for names in own_options(ctx)):
        return ""
    return (f" ({flag} is an option of {ctx.command_path} itself: give it before the "
            f"workflow, as in {ctx.command_path} [OPTIONS] WORKFLOW TASK [TASK ARGS])")


def task_help(ctx: click.Context, task: Any) -> str:
    """The task's docstring and its arguments, with types and defaults, and where the
    command's own options go."""
    from bridge.arguments import describe_parameters

    command = ctx.command_path
    lines = [f"Usage: {command} [OPTIONS] WORKFLOW {task.fullname} [TASK ARGS]...", ""]
    if task.func.__doc__:
        lines += [task.func.__doc__.strip(), ""]
    lines.append(f"Arguments of {task.fullname} (given after the task's name):")
    for flag, kind, default in describe_parameters(task):
        lines.append(f"  {flag:<26} {kind}{default}")
    lines += ["", f"{command}'s own options ({', '.join(own_options(ctx))}) go before "
                  f"WORKFLOW; `{command} --help` describes them."]
    return "\n".join(lines)


def described_call(task: Any, workflow: str, task_name: str, argv: list[str]) -> list[str]:
    """The command line's task part as bridge records it (the execution's description):
    the values of secret arguments replaced by ``***``."""
    from bridge.arguments import redact_arguments

    return [workflow, task_name, *redact_arguments(task, argv)]
