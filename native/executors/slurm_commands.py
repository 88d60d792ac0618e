"""The SLURM commands the slurm executor runs, with machine-readable output: ``sbatch
--parsable`` (the script on stdin), one ``squeue`` for the state of every job awaited (array
children one a line, finished ones too while the controller keeps them), ``squeue --me``
for the jobs an earlier run left in flight, and ``scancel``."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from bridge.native.executors.job_tracking import SINGLE

# Job states after which a job runs no more; any other state is still in flight.
FINISHED = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY",
                      "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE"})
_FIELDS = "JobArrayID:0|,State:0|,Reason:0|,exit_code:0|"


class SlurmError(RuntimeError):
    """A SLURM command failed; the message has the command and what it said."""


@dataclass(frozen=True)
class JobState:
    """One job (or array child) as squeue shows it. ``exit_code`` is the job's exit
    status (the raw wait status decoded), ``signal`` the signal that ended it."""

    job_id: str
    index: int
    state: str
    reason: str
    exit_code: int | None
    signal: int | None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


def run(argv: list[str], stdin: str | None = None) -> str:
    """A command's stdout; raises SlurmError with its stderr when it fails."""
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise SlurmError(f"{argv[0]} is not installed here: the slurm executor runs SLURM's "
                         "commands (sbatch, squeue, scancel) on the machine running bridge"
                         ) from None
    except subprocess.TimeoutExpired:
        raise SlurmError(f"{argv[0]} did not answer in 120 s") from None
    if done.returncode != 0:
        said = " / ".join(line.strip() for line in (done.stderr or done.stdout).splitlines()
                          if line.strip())
        raise SlurmError(f"{argv[0]} failed (exit {done.returncode}): {said}")
    return done.stdout


def sbatch(args: list[str], script: str) -> str:
    """Submit ``script``; returns the job id."""
    out = run(["sbatch", "--parsable", *args], stdin=script)
    return out.strip().split(";")[0]  # "<id>[;<cluster>]"


def states(job_ids: Iterable[str]) -> list[JobState]:
    """The state of each of ``job_ids`` and of their array children, in one query. Jobs
    the controller no longer knows are left out."""
    ids = sorted(set(job_ids))
    if not ids:
        return []
    try:
        out = run(["squeue", "--noheader", "--array", "--states=all", f"--jobs={','.join(ids)}",
                   f"--Format={_FIELDS}"])
    except SlurmError as error:
        if "Invalid job id" in str(error):  # every one of them is gone
            return []
        raise
    return [_parse_state(line) for line in out.splitlines() if line.strip()]


def _parse_state(line: str) -> JobState:
    job, state, reason, status = line.split("|")[:4]
    array_id, _, index = job.partition("_")
    exit_code = signal = None
    if status.strip().isdigit():
        raw = int(status)
        exit_code, signal = raw >> 8, raw & 0x7F
    return JobState(array_id, int(index) if index.isdigit() else SINGLE,
                    state.split()[0] if state else "", reason, exit_code, signal)


def in_flight() -> list[tuple[str, str, str]]:
    """(job id, name, comment) of this user's jobs still queued or running."""
    out = run(["squeue", "--me", "--noheader", "--Format=ArrayJobID:0|,Name:0|,Comment:0|"])
    found = []
    for line in out.splitlines():
        job, name, comment = [*line.split("|"), "", ""][:3]
        if job.strip():
            found.append((job.strip(), name, comment))
    return list(dict.fromkeys(found))


def cancel(job_ids: Iterable[str]) -> None:
    ids = sorted(set(job_ids))
    if ids:
        run(["scancel", *ids])
