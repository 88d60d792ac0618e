"""`bridge prefect run|serve|deploy`: a workflow's task as a Prefect flow (the ``prefect``
extra). Prefect is imported only when one of these commands runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from bridge.cli.common import UserError, config_option, load_config, open_store, parse_pairs
from bridge.cli.task_command import TaskCommand, task_call, workflow_task

CANCELLED_EXIT = 130


@click.group()
def prefect() -> None:
    """Run, serve or deploy a workflow's task as a Prefect flow."""


@prefect.command(cls=TaskCommand)
@click.argument("workflow")
@click.argument("task_name")
@config_option
@click.pass_context
def run(ctx: click.Context, workflow: str, task_name: str, config_dir: str | None) -> None:
    """Run TASK_NAME of WORKFLOW in a Prefect flow run. These options go before WORKFLOW;
    everything after TASK_NAME is the task's arguments, given as --name value (as for
    bridge run). Without PREFECT_API_URL, Prefect starts a temporary server."""
    from bridge.cli.run import print_result, report_failure

    task, kwargs = task_call(ctx, workflow, task_name)
    load_config(config_dir)  # a mistake in bridge.ini is reported here, in one line
    adapter = _adapter()
    from bridge.adapters.prefect.parameters import flow_parameters

    flow = adapter.flow_for(task, config_dir=config_dir)
    state = flow(**flow_parameters(kwargs), return_state=True)
    flow_run_id = str(state.state_details.flow_run_id)
    click.echo(f"[bridge] Prefect flow run {flow_run_id} {state.name}{_ui_link(flow_run_id)}",
               err=True)
    if state.is_completed():
        print_result(state.result())
        return
    if state.is_cancelled():
        click.echo(f"Cancelled: {state.message}", err=True)
        sys.exit(CANCELLED_EXIT)
    report_failure(open_store(config_dir), flow_run_id, state.result(raise_on_failure=False))
    sys.exit(1)


@prefect.command(context_settings={"allow_extra_args": False})
@click.argument("workflow")
@click.argument("task_name")
@click.option("--name", required=True, help="Name of the served deployment.")
@click.option("--cron", help="Schedule: a cron expression.")
@click.option("--interval", type=float, help="Schedule: every this many seconds.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Default for a task argument. Repeatable.")
@config_option
def serve(workflow: str, task_name: str, name: str, cron: str | None, interval: float | None,
          params: tuple[str, ...], config_dir: str | None) -> None:
    """Serve TASK_NAME of WORKFLOW from this process: Prefect runs it on its schedule and
    on demand (prefect deployment run), until Ctrl+C."""
    flow, parameters = _project_flow(workflow, task_name, params, config_dir, "serve", name)
    flow.serve(name=name, cron=cron, interval=interval, parameters=parameters)


@prefect.command()
@click.argument("workflow")
@click.argument("task_name")
@click.option("--name", required=True, help="Name of the deployment.")
@click.option("--pool", required=True, help="Prefect work pool whose workers run it.")
@click.option("--cron", help="Schedule: a cron expression.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Default for a task argument. Repeatable.")
@config_option
def deploy(workflow: str, task_name: str, name: str, pool: str, cron: str | None,
           params: tuple[str, ...], config_dir: str | None) -> None:
    """Make a Prefect deployment of TASK_NAME of WORKFLOW that workers of POOL run, from
    this project folder (a worker on this machine: prefect worker start --pool POOL)."""
    flow, parameters = _project_flow(workflow, task_name, params, config_dir, "deploy", name)
    deployment_id = flow.deploy(name=name, work_pool_name=pool, cron=cron,
                                parameters=parameters, build=False, push=False,
                                print_next_steps=False)
    click.echo(f"Deployment '{flow.name}/{name}' ({deployment_id}) on work pool {pool!r}. "
               f"Run it with: prefect deployment run '{flow.name}/{name}'")


def _project_flow(workflow: str, task_name: str, params: tuple[str, ...],
                  config_dir: str | None, command: str, name: str) -> tuple[Any, dict]:
    """Write the project's entrypoint module for the task; the flow loaded from it, and
    the default parameters given as --param."""
    task = workflow_task(workflow, task_name)
    load_config(config_dir)
    _adapter()
    from bridge.adapters.prefect.deployment import (
        DeploymentError,
        flow_from_entrypoint,
        write_entrypoint,
    )
    from bridge.adapters.prefect.parameters import flow_parameters

    values = parse_pairs(params, "--param")
    unknown = sorted(set(values) - set(task.signature.parameters))
    if unknown:
        raise UserError(f"--param {unknown[0]}: task {task.fullname} has no such argument; "
                        f"its arguments: {', '.join(task.signature.parameters)}")
    config = Path(config_dir or os.environ.get("BRIDGE_CONFIG") or ".bridge")
    try:
        entrypoint = write_entrypoint(Path(workflow), task, config, command,
                                      task.fullname.replace(".", "-"))
    except DeploymentError as error:
        raise UserError(str(error)) from None
    click.echo(f"Wrote {entrypoint} (Prefect's entrypoint for {task.fullname})", err=True)
    return flow_from_entrypoint(entrypoint), flow_parameters(values)


def _adapter() -> ModuleType:
    # On 2 cores a temporary Prefect server can take over a minute to start.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    try:
        import bridge.adapters.prefect as adapter
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] != "prefect":
            raise
        raise UserError("bridge prefect needs Prefect: pip install "
                        "'bridge-workflows[prefect]'") from None
    return adapter


def _ui_link(flow_run_id: str) -> str:
    from prefect.settings import PREFECT_UI_URL

    ui = PREFECT_UI_URL.value()
    return f": {ui}/runs/flow-run/{flow_run_id}" if ui else ""
