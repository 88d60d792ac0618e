"""`bridge airflow export -o DAGS/NAME.py FILE TASK [ARGS]`: write an Airflow DAG file
from the call tree of a recorded execution of the call (running it first when none is
recorded). See docs/airflow.md."""

from __future__ import annotations

import re
import shlex
import sys
import uuid
from pathlib import Path
from typing import Any

import click

from bridge.cli.common import UserError, config_option, load_config
from bridge.cli.task_command import TaskCommand, described_call, task_call


@click.group()
def airflow() -> None:
    """Schedule a workflow on Airflow."""


@airflow.command(cls=TaskCommand)
@click.argument("workflow")
@click.argument("task_name")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The DAG file to write (in Airflow's dags folder).")
@click.option("--from-execution", "execution_id", metavar="ID",
              help="Take the shape from this execution (default: the newest of this call; "
                   "the call is run first when none is recorded).")
@click.option("--schedule", metavar="CRON", help="The DAG's schedule (default: none).")
@click.option("--dag-id", help="The DAG's id (default: the output file's name).")
@config_option
@click.pass_context
def export(ctx: click.Context, workflow: str, task_name: str, output: str,
           execution_id: str | None, schedule: str | None, dag_id: str | None,
           config_dir: str | None) -> None:
    """Write a DAG for TASK_NAME of WORKFLOW called with its arguments. These options go
    before WORKFLOW; everything after TASK_NAME is the task's arguments (--name value, as
    for `bridge run`). Record the shape on a small input: the DAG maps as wide as each
    run needs."""
    from bridge.adapters.airflow.export import (
        ExportError,
        dag_params,
        recorded_shape,
        relative_to,
        write_dag,
    )
    from bridge.adapters.airflow.render import DagSpec

    task, kwargs = task_call(ctx, workflow, task_name)
    config = load_config(config_dir)
    target = Path(output)
    dag_id = dag_id or target.stem
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", dag_id):
        raise UserError(f"--dag-id {dag_id!r}: use letters, digits, '_', '.' and '-'")
    command = shlex.join(["bridge", "airflow", "export", "-o", output,
                          *(["--schedule", schedule] if schedule else []),
                          *(["--dag-id", dag_id] if dag_id != target.stem else []),
                          *(["--config", config_dir] if config_dir else []),
                          *described_call(task, workflow, task_name, ctx.args)])
    with _scheduler(config) as scheduler:
        execution_id = execution_id or _recorded_execution(scheduler, task, kwargs, command)
        try:
            batch = frozenset(name for name, executor in config.executors.items()
                              if executor.type == "aws_batch")
            shape = recorded_shape(scheduler.store, execution_id, task, batch)
            params = dag_params(task, kwargs)
        except ExportError as error:
            raise UserError(str(error)) from None
    project = Path.cwd()  # where `bridge run` runs: relative paths resolve from here
    write_dag(target, DagSpec(
        dag_id=dag_id, command=command, execution_id=execution_id,
        project=relative_to(project, target.parent),
        workflow=relative_to(Path(workflow), project),
        task=task.fullname,
        config=relative_to(Path(config.config_dir), project),
        params=params, schedule=schedule, shape=shape,
    ))
    click.echo(f"Wrote {output} (DAG {dag_id}) from execution {execution_id[:8]}", err=True)


def _scheduler(config: Any) -> Any:
    from bridge.scheduler import Scheduler

    return Scheduler(config=config)


def _recorded_execution(scheduler: Any, task: Any, kwargs: dict, command: str) -> str:
    """The newest execution of this call, or a new one: the call is run to record it."""
    from bridge.native.calling import identify_call
    from bridge.native.calltree import find_execution_of
    from bridge.native.store import StoreError

    try:
        call_hash = identify_call(task, None, (), kwargs).call_hash
        found = find_execution_of(scheduler.store, call_hash)
    except StoreError as error:
        raise UserError(str(error)) from None
    if found:
        return found
    click.echo(f"No recorded execution of {task.fullname} with these arguments: running it "
               "to record its shape.", err=True)
    execution_id = str(uuid.uuid4())
    try:
        scheduler.run(task(**kwargs), execution_id=execution_id, description=command)
    except Exception as error:
        click.echo(f"Error: the run failed ({type(error).__name__}: {error}); "
                   f"bridge log {execution_id[:8]} shows why.", err=True)
        sys.exit(1)
    return execution_id
