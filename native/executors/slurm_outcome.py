"""Reading a finished SLURM job's call back: its output (or a script's stdout) from the
call's folder; for a failure, why SLURM says it ended, its exit code, and the tail of the
job's output file."""

from __future__ import annotations

from collections import deque
from pathlib import Path

from bridge.native.executors.job_tracking import Call
from bridge.native.executors.packaging import OUTPUT, join, with_log_tail
from bridge.native.executors.slurm_commands import JobState
from bridge.native.runner import Outcome, RemoteError, load_outcome

LOG_TAIL_LINES = 40


def collect(call: Call, ended: JobState, log: str) -> Outcome:
    """What happened to ``call``, whose job ended as ``ended`` writing ``log``."""
    job_id = call.job_ids[0]
    try:
        outcome = _script_outcome(call, ended) if call.work.is_script \
            else _python_outcome(call, ended)
        if not outcome.ok:
            with_log_tail(outcome, f"{log} (SLURM job {_name(ended)}: {_why(ended)})",
                          _tail(log))
    except Exception as error:
        outcome = Outcome(job_id, False, error=error, traceback=repr(error))
    return outcome


def _name(ended: JobState) -> str:
    return ended.job_id if ended.index < 0 else f"{ended.job_id}_{ended.index}"


# What a state says to do, for the states that end a job before its command does.
_HINTS = {
    "TIMEOUT": "it ran past its time limit: give the task a longer time =",
    "OUT_OF_MEMORY": "it ran out of memory: give the task more memory = (GiB)",
    "CANCELLED": "cancelled (scancel, or an administrator)",
    "NODE_FAIL": "its node failed",
    "BOOT_FAIL": "its node failed to boot",
    "PREEMPTED": "preempted by another job",
    "DEADLINE": "it could not end by its deadline",
}
LAUNCH_FAILED = ("the node could not start it; the node's slurmd log says why (a folder "
                 "that does not exist there, --chdir or --output, is a common cause)")


def _why(ended: JobState) -> str:
    """How the job ended, in SLURM's words (state, exit code, reason) and what it means."""
    parts = [ended.state or "gone from the queue"]
    if ended.reason == "JobLaunchFailure":
        parts.append(LAUNCH_FAILED)
    elif ended.signal:
        parts.append(f"killed by signal {ended.signal}")
    elif ended.exit_code is not None:
        parts.append(f"exit code {ended.exit_code}")
    if ended.state in _HINTS:
        parts.append(_HINTS[ended.state])
    if ended.reason not in ("", "None", "NonZeroExitCode", "JobLaunchFailure"):
        parts.append(f"reason {ended.reason}")
    return ", ".join(parts)


def _tail(path: str) -> str:
    try:
        with open(path, errors="replace") as handle:
            return "".join(deque(handle, LOG_TAIL_LINES)).rstrip("\n")
    except OSError:
        return ""


def _script_outcome(call: Call, ended: JobState) -> Outcome:
    from bridge.native.script import ScriptError, finish_script

    job_id = call.job_ids[0]
    stdout = Path(join(call.folder, "stdout"))
    if ended.state == "COMPLETED" and stdout.exists():
        return Outcome(job_id, True, value=finish_script(call.work.kwargs["outputs"],
                                                         stdout.read_text(errors="replace")))
    return Outcome(job_id, False, error=ScriptError(
        f"script of {call.work.task.fullname} failed in SLURM job {_name(ended)} "
        f"({_why(ended)})", ended.exit_code))


def _python_outcome(call: Call, ended: JobState) -> Outcome:
    output = Path(join(call.folder, OUTPUT))
    if output.exists():
        return load_outcome(output.read_bytes(), call.job_ids[0])
    ended_how = "succeeded" if ended.state == "COMPLETED" else "failed"
    return Outcome(call.job_ids[0], False, error=RemoteError(
        f"SLURM job {_name(ended)} of {call.work.task.fullname} {ended_how} without writing "
        f"its output ({_why(ended)})"))
