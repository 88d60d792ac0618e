"""Submitting bursts of calls to SLURM (see :class:`JobSubmitter`). The scratch folder is on
the filesystem the nodes share::

    <scratch>/calls/<call hash>/input.pkl   (or script.sh)   written here
    <scratch>/calls/<call hash>/output.pkl  (or stdout)      written by the job
    <scratch>/arrays/<uuid>.json                             an array's call folders
    <scratch>/logs/<job id>.out, <job id>_<index>.out        the jobs' stdout and stderr

A job's batch script lists its call folders and runs the one its array index
(``SLURM_ARRAY_TASK_ID``) picks: ``bridge oneshot <folder>`` for a Python call, the prepared
bash script for a ``script()`` call. Its comment names the call folder (or the array's
manifest), so that a restarted run finds the calls of the jobs still in flight."""

from __future__ import annotations

import json
import os
import shlex
import uuid
from pathlib import Path
from typing import Any

from bridge.native.executors import slurm_commands
from bridge.native.executors.base import Report, Work
from bridge.native.executors.batch_api import job_name
from bridge.native.executors.job_submit import JobSubmitter, calls_named
from bridge.native.executors.job_tracking import SINGLE, Call, Tracker
from bridge.native.executors.packaging import INPUT, OUTPUT, code_root, join, pack_call
from bridge.native.executors.slurm_options import job_options, sbatch_arguments

MAX_ARRAY = 1000  # SLURM's default MaxArraySize is 1001 (indices 0-1000)


def log_file(scratch: str, job_id: str, index: int) -> str:
    """Where SLURM writes the output of job ``job_id`` (child ``index`` of an array)."""
    name = f"{job_id}.out" if index == SINGLE else f"{job_id}_{index}.out"
    return join(scratch, "logs", name)


def job_script(folders: list[str], job: dict[str, Any], bridge: str) -> str:
    """The batch script of a job running the calls in ``folders`` (one per array child)."""
    lines = ["#!/bin/bash",
             f"calls=({' '.join(shlex.quote(folder) for folder in folders)})",
             'call="${calls[${SLURM_ARRAY_TASK_ID:-0}]}"']
    if not job["script"]:
        return "\n".join([*lines, f'exec {bridge} oneshot "$call"', ""])
    run = 'bash -euo pipefail "$call/script.sh" > "$call/stdout"'
    if job["tempdir"]:  # a fresh folder, removed when the script succeeds
        return "\n".join([*lines, 'work="$(mktemp -d)"', 'cd "$work"', f"{run} || exit",
                          'cd / && rm -rf "$work"', ""])
    return "\n".join([*lines, f"exec {run}", ""])


class SlurmSubmitter(JobSubmitter):
    """Submits the calls of a slurm executor (its checked ``options``)."""

    service = "SLURM"
    max_array = MAX_ARRAY

    def __init__(self, options: dict[str, Any], *, tracker: Tracker, report: Report) -> None:
        super().__init__(options["scratch"], tracker=tracker, report=report)
        self.options = options
        self.prefix = job_name(options["job_name_prefix"], "")[:-1]
        self.workdir = os.getcwd()
        for sub in ("calls", "arrays", "logs"):  # a missing --output folder fails the job
            os.makedirs(join(self.scratch, sub), exist_ok=True)

    def find_in_flight(self) -> dict[str, tuple[str, int]]:
        found: dict[str, tuple[str, int]] = {}
        for job_id, name, comment in slurm_commands.in_flight():
            if name.startswith(f"{self.prefix}-"):
                found |= calls_named(job_id, [comment], self.scratch, _read)
        return found

    def job_options(self, work: Work) -> dict[str, Any]:
        return job_options(self.options, work)

    def submit_group(self, options: dict[str, Any], calls: list[Call]) -> None:
        for call in calls:
            self._package(call, options)
        array = len(calls) > 1
        comment = self._manifest(calls) if array else calls[0].folder
        args = [f"--job-name={job_name(self.prefix, options['task'])}",
                f"--chdir={self.workdir}", f"--comment={comment}",
                "--output=" + join(self.scratch, "logs", "%A_%a.out" if array else "%j.out"),
                *([f"--array=0-{len(calls) - 1}"] if array else []),
                *sbatch_arguments(options)]
        script = job_script([call.folder for call in calls], options,
                            self.options["bridge_command"])
        try:
            job_id = slurm_commands.sbatch(args, script)
        except slurm_commands.SlurmError as error:
            raise slurm_commands.SlurmError(f"submitting {options['task']}: {error}") from None
        self.tracker.track(job_id, {index if array else SINGLE: call.key
                                    for index, call in enumerate(calls)})

    def _manifest(self, calls: list[Call]) -> str:
        """An array job's call folders, from which a restarted run learns its calls."""
        path = join(self.scratch, "arrays", f"{uuid.uuid4().hex}.json")
        Path(path).write_text(json.dumps({"calls": [c.folder for c in calls]}))
        return path

    def _package(self, call: Call, job: dict[str, Any]) -> None:
        """Write the call's input to its folder; outputs of an earlier run of the same call
        must not pass for this run's. A script learns its share (``$BRIDGE_CPUS``) from
        ``job``, the options it is submitted with."""
        folder = Path(call.folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in (OUTPUT, "stdout"):
            (folder / name).unlink(missing_ok=True)
        if call.work.is_script:
            from bridge.native.script import prepare_script

            share = {"vcpus": job["vcpus"] or 1, "memory": job["memory"]}
            (folder / "script.sh").write_text(prepare_script(**call.work.kwargs, options=share))
        else:  # the nodes share the filesystem: the code's folder is the code
            (folder / INPUT).write_bytes(pack_call(call.work, code_root(call.work.task)))


def _read(path: str) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError:
        return None
