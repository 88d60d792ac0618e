"""Reading a finished Batch job's call back: its output (or a script's stdout) from the
call's folder, and for a failure the tail of the job's CloudWatch log."""

from __future__ import annotations

from bridge.native.executors import batch_api
from bridge.native.executors.batch_aws import Aws
from bridge.native.executors.job_tracking import Call
from bridge.native.executors.packaging import OUTPUT, join, with_log_tail
from bridge.native.runner import Outcome, RemoteError, load_outcome

LOG_TAIL_LINES = 40


def collect(aws: Aws, call: Call, described: dict) -> Outcome:
    """What happened to ``call``, whose Batch job ended as ``described``."""
    job_id = call.job_ids[0]
    try:
        outcome = _script_outcome(aws, call, described) if call.work.is_script \
            else _python_outcome(aws, call, described)
        if not outcome.ok:
            where, tail = batch_api.log_tail(aws.client("logs"), described, LOG_TAIL_LINES)
            with_log_tail(outcome, where, tail)
    except Exception as error:
        outcome = Outcome(job_id, False, error=error, traceback=repr(error))
    return outcome


def _why(described: dict) -> str:
    exit_code = described.get("container", {}).get("exitCode")
    return f"(exit code {exit_code}): {described.get('statusReason') or 'no reason given'}"


def _script_outcome(aws: Aws, call: Call, described: dict) -> Outcome:
    from bridge.native.script import ScriptError, finish_script

    job_id = call.job_ids[0]
    succeeded = described["status"] == "SUCCEEDED"
    stdout = aws.read(join(call.folder, "stdout")) if succeeded else None
    if stdout is not None:
        return Outcome(job_id, True, value=finish_script(call.work.kwargs["outputs"],
                                                         stdout.decode()))
    exit_code = described.get("container", {}).get("exitCode")
    return Outcome(job_id, False, error=ScriptError(
        f"script of {call.work.task.fullname} failed in Batch job {described['jobId']} "
        f"{_why(described)}", exit_code))


def _python_outcome(aws: Aws, call: Call, described: dict) -> Outcome:
    data = aws.read(join(call.folder, OUTPUT))
    if data is not None:
        return load_outcome(data, call.job_ids[0])
    ended = "succeeded" if described["status"] == "SUCCEEDED" else "failed"
    return Outcome(call.job_ids[0], False, error=RemoteError(
        f"Batch job {described['jobId']} of {call.work.task.fullname} {ended} without "
        f"writing its output {_why(described)}"))
