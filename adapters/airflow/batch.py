"""Batch positions: calls of an ``aws_batch`` executor run as Airflow ``BatchOperator``
tasks, between a prepare step and a record step.

- Prepare packages each call that is not a cache hit exactly as bridge's own Batch
  executor does (``<s3_scratch>/calls/<call hash>/input.pkl``, the workflow's code as an
  archive) and returns one set of ``BatchOperator`` arguments per call: the job runs
  ``bridge oneshot <call folder>``, which writes ``output.pkl`` beside the input.
- Record evaluates the calls through bridge's scheduler with :class:`BatchOutputs` as
  that executor: instead of submitting, it reads each call's ``output.pkl``. So the
  result (or the body's error) is recorded and cached as if bridge had run the job.
"""

from __future__ import annotations

from typing import Any

from bridge.native.calling import identify_call
from bridge.native.executors import batch_api, batch_request
from bridge.native.executors.base import Executor, Report, Work
from bridge.native.executors.batch_aws import Aws
from bridge.native.executors.packaging import (
    INPUT,
    OUTPUT,
    code_archive,
    code_root,
    join,
    pack_call,
    read_outcome,
)
from bridge.native.expression import TaskCall
from bridge.native.runner import Outcome
from bridge.native.settings import ExecutorSettings

OUTPUTS_TYPE = "airflow_batch_outputs"


def batch_jobs(options: dict[str, Any], calls: list[tuple[TaskCall, tuple, dict]]
               ) -> list[dict[str, Any]]:
    """Package each ``(call, args, kwargs)`` (arguments evaluated) under the executor's
    scratch prefix; the BatchOperator arguments of each job."""
    aws = Aws(options.get("region"), options.get("endpoint_url"))
    scratch = str(options["s3_scratch"]).rstrip("/")
    prefix = batch_api.job_name(options.get("job_name_prefix", "bridge"), "")[:-1]
    environment = aws.job_environment(bool(options.get("pass_aws_credentials")))
    jobs = []
    for call, args, kwargs in calls:
        task = call.task
        work = Work("airflow", task, args, kwargs, {**task.executor_options,
                                                    **(call.options or {})},
                    identify_call(task, None, args, kwargs).call_hash, False)
        folder = join(scratch, "calls", work.call_hash)
        aws.write(join(folder, INPUT), pack_call(work, _code_url(aws, scratch, task)))
        aws.delete([join(folder, OUTPUT)])  # an earlier run's output must not pass for this
        made_of = batch_request.job_options(options, work)
        jobs.append({
            "job_name": batch_api.job_name(prefix, task.fullname),
            "job_queue": made_of["queue"],
            "job_definition": batch_api.job_definition(aws.client("batch"), prefix,
                                                       made_of["image"], made_of["role"]),
            "container_overrides": {
                "command": batch_request.command(False, folder, False),
                "environment": environment,
                "resourceRequirements": batch_request.resources(made_of),
            },
        })
    return jobs


def _code_url(aws: Aws, scratch: str, task: Any) -> str | None:
    root = code_root(task)
    if root is None:
        return None
    digest, data = code_archive(root)
    url = join(scratch, "code", f"{digest}.tar.gz")
    aws.write_once(url, data)
    return url


def reading_outputs(settings: ExecutorSettings) -> ExecutorSettings:
    """The settings of an aws_batch executor that reads its calls' outputs instead."""
    return ExecutorSettings(type=OUTPUTS_TYPE, options=dict(settings.options))


class BatchOutputs(Executor):
    """Reports each call's outcome from the ``output.pkl`` its Batch job wrote."""

    def start(self, report: Report) -> None:
        self._report = report

    def submit(self, work: Work) -> None:
        folder = join(str(self.options["s3_scratch"]).rstrip("/"), "calls", work.call_hash)
        outcome = read_outcome(folder, work.job_id)
        if outcome is None:
            outcome = Outcome(work.job_id, False, error=RuntimeError(
                f"{work.task.fullname}: its Batch job left no output in {folder} (the "
                "BatchOperator task failed or did not run: see its log)"))
        self._report(outcome)

    def cancel_pending(self) -> list[str]:
        return []

    def stop(self) -> None:
        """Nothing runs here: the jobs belong to Airflow's BatchOperator tasks."""
