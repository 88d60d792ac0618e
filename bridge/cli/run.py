"""`bridge run [OPTIONS] FILE TASK [--arg value ...]`: run a task with a live job-status
table."""

from __future__ import annotations

import os
import sys
import time
import uuid
from typing import Any

import click

from bridge.cli.common import UserError, config_option, load_settings, parse_pairs, write_output
from bridge.cli.task_command import (
    COMMAND_HEAD,
    HELP_WORD,
    TaskCommand,
    described_call,
    lists_tasks,
    task_call,
)

INTERRUPTED = 130  # the shell's code for a process stopped by Ctrl+C
SETUP_ARGS = "bridge.setup_args"  # ctx.meta: `bridge --setup k=v run ...`, as redun writes it


@click.command(cls=TaskCommand)
@click.argument("workflow", required=False)
@click.argument("task_name", required=False)
@click.option("-m", "as_module", is_flag=True, help="WORKFLOW is a module name, not a file.")
@config_option
@click.option("--no-cache", is_flag=True, help="Run every call, even those cached.")
@click.option("--dryrun", is_flag=True,
              help="Show what would run and why each call is not a cache hit; run nothing.")
@click.option("--viz", "viz_output", metavar="FILE",
              help="With --dryrun: also draw the plan to FILE (.svg, .png, .dot or .html).")
@click.option("--execution-id", help="Id for this execution (default: a new UUID).")
@click.option("--cores", type=click.FloatRange(min=0, min_open=True), envvar="BRIDGE_CPUS",
              metavar="N",
              help="Use at most N cores on each local executor (default: $BRIDGE_CPUS, "
                   "else each executor's cores, else the machine's CPU count).")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Task option for the top-level call (executor, memory, ...). Repeatable.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE",
              help="Tag the execution. Repeatable.")
@click.option("-s", "--setup", "setup_args", multiple=True, metavar="KEY=VALUE",
              help="Option of the setup function that [scheduler] setup_scheduler names. "
                   "Repeatable.")
@click.option("--context", "context_pairs", multiple=True, metavar="KEY=VALUE",
              help="Set a context value (what get_context reads; a dotted KEY nests) over "
                   "bridge.ini's [context]. Repeatable.")
@click.option("--context-file", type=click.Path(dir_okay=False),
              help="A JSON file of context values, over bridge.ini's [context].")
@click.option("--accept-version", "accept_pairs", multiple=True, metavar="TASK=VERSION",
              help="Accept TASK's current source for its pinned VERSION (recorded in the "
                   "store): its version-drift warning stops. Repeatable.")
@click.pass_context
def run(ctx: click.Context, workflow: str | None, task_name: str | None, as_module: bool,
        config_dir: str | None, no_cache: bool, dryrun: bool, viz_output: str | None,
        execution_id: str | None,
        cores: float | None, options: tuple[str, ...], tags: tuple[str, ...],
        setup_args: tuple[str, ...], context_pairs: tuple[str, ...],
        context_file: str | None, accept_pairs: tuple[str, ...]) -> None:
    """Run TASK_NAME of WORKFLOW (a file, or a module with -m). These options go before
    WORKFLOW; everything after TASK_NAME is the task's arguments, given as --name value
    (a task argument named like one of these options is the task's). Without TASK_NAME
    (or with `help`), list the workflow's tasks; with --help or `help` after TASK_NAME, show
    the task's arguments. A task named help runs as `bridge run WORKFLOW -- help`."""
    from bridge.loading import WorkflowError, load_workflow, workflow_tasks

    if workflow is None:
        raise UserError("bridge run needs a workflow file (or -m module) and a task")
    if viz_output and not dryrun:
        raise UserError("--viz draws the plan of a dry run: add --dryrun (`bridge viz ID` "
                        "draws a recorded execution)")
    if viz_output:
        from bridge.cli.viz import output_format

        output_format(viz_output, "--viz")  # a bad suffix stops here, before any work
    if lists_tasks(ctx, task_name):
        try:
            _print_tasks(workflow, workflow_tasks(load_workflow(workflow, as_module)))
        except WorkflowError as error:
            raise UserError(str(error)) from None
        return
    task, kwargs = task_call(ctx, workflow, task_name, as_module)
    call_options = parse_pairs(options, "-o")
    called = task.options(**call_options) if call_options else task
    context = context_updates(context_pairs, context_file)
    expr = (called.update_context(context) if context else called)(**kwargs)
    description = " ".join(described_call(task, workflow, task_name, ctx.args))
    settings, config = load_settings(config_dir)
    executor = call_options.get("executor")
    known = settings.executors
    if executor is not None and executor not in known:
        raise UserError(f"-o executor={executor}: no such executor; add an "
                        f"[executors.{executor}] section to bridge.ini, or use one of: "
                        f"{', '.join(sorted(known))}")
    scheduler = _scheduler(settings, config, (*ctx.meta.get(SETUP_ARGS, ()), *setup_args))
    if cores is not None:
        scheduler.settings.cores = cores
    accept = accepted_versions(accept_pairs)
    if dryrun:
        _dryrun(scheduler, expr, no_cache, accept, viz_output)
        return
    tag_values = {k: str(v) for k, v in parse_pairs(tags, "--tag").items()}
    run_args = [*(f"--setup={arg}" for arg in ctx.meta.get(SETUP_ARGS, ())),
                *_without_execution_id(ctx.meta[COMMAND_HEAD]),
                *described_call(task, workflow, task_name, ctx.args)[2:]]
    sys.exit(_run(scheduler, expr, no_cache, execution_id, description, tag_values, accept,
                  run_args))


def _without_execution_id(tokens: list[str]) -> list[str]:
    """The command's tokens without ``--execution-id ID``: a command to run again (the
    one a version-drift warning prints) needs a new execution id."""
    kept: list[str] = []
    skip_next = False
    for token in tokens:
        if skip_next:
            skip_next = False
        elif token == "--execution-id":
            skip_next = True
        elif not token.startswith("--execution-id="):
            kept.append(token)
    return kept


def accepted_versions(pairs: tuple[str, ...]) -> dict[str, str]:
    """--accept-version TASK=VERSION pairs as {task: version}, each naming a task of the
    workflow pinned at that version."""
    from bridge.native.drift import VersionAcceptError, accepted_tasks

    accept = {}
    for pair in pairs:
        name, _, version = (part.strip() for part in pair.partition("="))
        if not name or not version:
            raise UserError(f"--accept-version {pair!r}: expected TASK=VERSION, as the "
                            "version-drift warning writes it (cut_adapters=1)")
        accept[name] = version
    try:
        accepted_tasks(accept)
    except VersionAcceptError as error:
        raise UserError(f"--accept-version {error}") from None
    return accept


def context_updates(pairs: tuple[str, ...], context_file: str | None) -> dict[str, Any]:
    """--context-file's JSON object, then each --context KEY=VALUE over it."""
    import json

    from bridge.config_defaults import context_values
    from bridge.native.context import merge_contexts

    base: Any = {}
    if context_file:
        try:
            with open(context_file) as stream:
                base = json.load(stream)
        except (OSError, ValueError) as error:
            raise UserError(f"--context-file {context_file}: not a readable JSON object "
                            f"({error})") from None
        if not isinstance(base, dict):
            raise UserError(f"--context-file {context_file}: must hold a JSON object")
    for pair in pairs:
        if "=" not in pair or not pair.partition("=")[0].strip():
            raise UserError(f"--context {pair!r}: expected KEY=VALUE (KEY may be dotted: "
                            "my_tool.param=10)")
    split = [(key.strip(), text) for key, _, text in (p.partition("=") for p in pairs)]
    return merge_contexts(base, context_values(split))


def _scheduler(settings: Any, config: Any, setup_args: tuple[str, ...]) -> Any:
    from bridge.scheduler_setup import SetupError, make_scheduler

    try:
        return make_scheduler(settings, config, setup_args)
    except SetupError as error:
        raise UserError(str(error)) from None


def _dryrun(scheduler: Any, expr: Any, no_cache: bool, accept: dict[str, str],
            viz_output: str | None) -> None:
    from bridge.cli.viz import output_format
    from bridge.dryrun import report
    from bridge.dryrun_plan import plan_graph, plan_run
    from bridge.native.calling import ArgumentFileError
    from bridge.native.store import StoreError
    from bridge.viz import VizError, render, to_dot

    try:
        with scheduler:
            execution = scheduler.dryrun(expr, cache=not no_cache, accept_versions=accept)
            roots = plan_run(execution)
            text = report(execution, roots)
        if viz_output:
            data = render(to_dot(plan_graph(roots), {}, "Dry run plan (nothing ran)"),
                          output_format(viz_output, "--viz"))
            write_output(viz_output, data, "plan's graph")
    except (StoreError, ArgumentFileError, VizError) as error:
        raise UserError(str(error)) from None
    click.echo(text)
    if viz_output:
        click.echo(f"Wrote the plan's graph to {viz_output}")


def _run(scheduler: Any, expr: Any, no_cache: bool, execution_id: str | None,
         description: str, tags: dict[str, str], accept: dict[str, str],
         run_args: list[str]) -> int:
    """Run with the live table; returns the exit code. ``run_args``: the command's own
    tokens, for the command a version-drift warning says to copy."""
    from bridge.native.calling import ArgumentFileError
    from bridge.native.scheduler import ExecutorConfigError
    from bridge.native.store import StoreError
    from bridge.status import LiveStatus, StatusBoard, format_duration, status_console
    from bridge.version_drift import drift_warnings_as_lines

    console = status_console()
    board = StatusBoard()
    interval = float(os.environ.get("BRIDGE_STATUS_INTERVAL", "10"))
    quiet = float(os.environ.get("BRIDGE_STATUS_QUIET", "60"))
    started = time.monotonic()
    with scheduler:
        try:
            store = scheduler.store
            execution_id = _new_execution_id(store, execution_id)
        except StoreError as error:
            raise UserError(str(error)) from None
        try:
            with (LiveStatus(board, console, interval, quiet) as live,
                  drift_warnings_as_lines(live.print_line, run_args)):
                result = scheduler.run(expr, cache=not no_cache, execution_id=execution_id,
                                       description=description, tags=tags, listener=board,
                                       accept_versions=accept)
        except KeyboardInterrupt:
            done = sum(c.get("DONE", 0) + c.get("CACHED", 0) for c in board.snapshot().values())
            click.echo(f"Interrupted: execution {execution_id[:8]} stopped, running jobs "
                       f"cancelled; {done} finished job(s) recorded "
                       f"(bridge log {execution_id[:8]}).", err=True)
            return INTERRUPTED
        except (ExecutorConfigError, StoreError) as error:
            raise UserError(str(error)) from None
        except ArgumentFileError as error:  # the environment to fix: no traceback to show
            click.echo(f"Error: execution {execution_id[:8]} failed: {error} "
                       f"(bridge log {execution_id[:8]})", err=True)
            return UserError.exit_code
        except Exception as error:
            report_failure(store, execution_id, error)
            return 1
    click.echo(f"[bridge] Execution duration: {format_duration(time.monotonic() - started)}"
               f"  id: {execution_id}", err=True)
    print_result(result)
    return 0


def _new_execution_id(store: Any, execution_id: str | None) -> str:
    if execution_id is None:
        return str(uuid.uuid4())
    if not execution_id or len(execution_id) > 36:
        raise UserError(f"--execution-id {execution_id!r}: give 1 to 36 characters")
    if store.execution(execution_id) is not None:
        raise UserError(f"--execution-id {execution_id!r} is already recorded: choose a new id")
    return execution_id


def report_failure(store: Any, execution_id: str, error: BaseException) -> None:
    """The failed jobs' errors with their tracebacks (the task's own code), then a line."""
    from bridge.history import first_failures
    from bridge.native.runner import error_text
    from bridge.queries import find_jobs

    failed = find_jobs(store, execution_id=execution_id, status="FAILED", limit=1000)
    for job in first_failures(failed)[:5]:
        click.echo(f"\nJob {job['job_id'][:8]} {job['task_name']} FAILED:\n"
                   f"{_without_bridge_traceback(job['error'])}", err=True)
    # The first line alone, whole; one that ends with ':' introduces the lines shown above.
    summary = error_text(error).splitlines()[0].rstrip().removesuffix(":")
    click.echo(f"Error: execution {execution_id[:8]} failed: {summary} "
               f"(bridge log {execution_id[:8]})", err=True)


def _without_bridge_traceback(error: str) -> str:
    """A stored error without its traceback when every frame is bridge's own (a script
    that failed, a missing file in a built-in task): it would show none of the user's
    code. `bridge log` keeps the whole text."""
    import re

    import bridge.native

    message, marker, trace = error.partition("\nTraceback (most recent call last):")
    frames = re.findall(r'^  File "([^"]+)"', trace, flags=re.MULTILINE)
    own = tuple(os.path.dirname(module.__file__) + os.sep for module in (bridge, bridge.native))
    if marker and frames and all(frame.startswith(own) for frame in frames):
        return message
    return error


def print_result(result: Any) -> None:
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.pretty import Pretty

        Console().print(Pretty(result))
    else:
        click.echo(result_text(result))


RESULT_WIDTH = 100
_SCALARS = frozenset({int, float, bool, type(None)})


def result_text(result: Any) -> str:
    """The result as pprint lays it out (width 100). A long flat list or tuple of numbers
    comes out one item a line without pprint's per-item work (~50 µs an item: a tenth of
    a cached run of 1,000 tasks returning their numbers)."""
    kind = type(result)
    if kind in (list, tuple) and len(result) != 1 and all(type(x) in _SCALARS for x in result):
        text = repr(result)
        if len(text) <= RESULT_WIDTH:
            return text
        opening, closing = ("[", "]") if kind is list else ("(", ")")
        return opening + ",\n ".join(map(repr, result)) + closing
    from pprint import pformat

    return pformat(result, width=RESULT_WIDTH, sort_dicts=False)


def _print_tasks(workflow: str, tasks: list) -> None:
    if not tasks:
        click.echo(f"{workflow} defines no tasks")
        return
    click.echo(f"Tasks in {workflow}:")
    for task in sorted(tasks, key=lambda t: t.fullname):
        doc = (task.func.__doc__ or "").strip().splitlines()
        click.echo(f"  {task.fullname:<30} {doc[0] if doc else ''}")
    if any(task.name == HELP_WORD for task in tasks):
        click.echo(f"(to run the task named {HELP_WORD}: bridge run {workflow} -- {HELP_WORD})")
