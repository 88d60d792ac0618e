"""Deployments and served flows: Prefect runs them in another process (a worker, or the
serving process's runner), which loads the flow from a file. ``bridge prefect deploy``
and ``serve`` write that file, a short readable module in the project folder, and point
Prefect at it with ``flow.from_source`` (the project folder is the source)."""

from __future__ import annotations

import json
from pathlib import Path

from prefect import Flow

from bridge.native.task import Task

ENTRYPOINT_TEMPLATE = '''"""Prefect entrypoint for the bridge task {task_name} of {workflow}.

Written by `bridge prefect {command} {workflow} {task_name} ...`: run it again to regenerate
this file, and edit the workflow, not this file. Prefect loads `flow` from here; a run of
it evaluates the task with bridge, with the store and executors of {config}/bridge.ini.
"""

from pathlib import Path

from bridge.adapters.prefect import flow_for
from bridge.loading import find_task, load_workflow

PROJECT = Path(__file__).resolve().parent

workflow = load_workflow(str(PROJECT / {workflow_literal}))
flow = flow_for(
    find_task(workflow, {task_literal}),
    name={flow_literal},
    config_dir=PROJECT / {config_literal},
)
'''


class DeploymentError(Exception):
    """The workflow or config is not where a deployment can reach it."""


def write_entrypoint(workflow: Path, task: Task, config_dir: Path, command: str,
                     flow_name: str) -> Path:
    """Write ``prefect_<task>.py`` in the project folder (the config folder's parent);
    returns its path."""
    project = config_dir.resolve().parent
    paths = {}
    for label, path in (("workflow", workflow), ("config folder", config_dir)):
        try:
            paths[label] = path.resolve().relative_to(project).as_posix()
        except ValueError:
            raise DeploymentError(
                f"the {label} {path} is outside the project folder {project}: a deployment "
                "runs from that folder, so keep the workflow and .bridge/ in it") from None
    entrypoint = project / f"prefect_{task.name}.py"
    entrypoint.write_text(ENTRYPOINT_TEMPLATE.format(
        task_name=task.fullname, workflow=paths["workflow"], config=paths["config folder"],
        command=command, workflow_literal=json.dumps(paths["workflow"]),
        task_literal=json.dumps(task.fullname), config_literal=json.dumps(paths["config folder"]),
        flow_literal=json.dumps(flow_name)))
    return entrypoint


def flow_from_entrypoint(entrypoint: Path) -> Flow:
    """The flow as Prefect's runners will load it: from the project folder's file."""
    return Flow.from_source(source=str(entrypoint.parent), entrypoint=f"{entrypoint.name}:flow")
