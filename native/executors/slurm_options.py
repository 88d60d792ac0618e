"""The slurm executor's keys: checked when the executor starts (a wrong key or value is an
error naming it), and merged with each call's options into its job's ``sbatch`` arguments."""

from __future__ import annotations

import os
import re
import shlex
import sys
from typing import Any

from bridge.native.executors.base import Work
from bridge.native.executors.capacity import as_number

# Keys a call may override through task.options(...) or script(..., **options).
JOB_KEYS = ("partition", "account", "qos", "time", "vcpus", "memory", "gres", "constraint",
            "sbatch_args")
EXECUTOR_KEYS = (*JOB_KEYS, "cpus", "scratch", "poll_interval", "job_name_prefix",
                 "script_only", "bridge_command")
DEFAULT_SCRATCH = os.path.join(".bridge", "slurm")
BOTH_CPUS = "give one of them (cpus is another name for vcpus)"
_TIME = re.compile(r"(\d+-)?\d+(:\d+){0,2}|UNLIMITED|INFINITE|unlimited|infinite")


class SlurmConfigError(ValueError):
    """A slurm executor's key, or a call's option, has a value sbatch cannot take."""


def check_executor(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The executor's options, checked and normalised (``cpus`` becomes ``vcpus``, the
    scratch folder absolute, ``sbatch_args`` a list)."""
    where = f"[executors.{name}]"
    unknown = sorted(set(options) - set(EXECUTOR_KEYS))
    if unknown:
        raise SlurmConfigError(f"{where} {unknown[0]}: unknown key for a slurm executor; "
                               f"its keys: {', '.join(EXECUTOR_KEYS)}")
    checked = _job_values(options, where)
    checked["scratch"] = os.path.abspath(str(options.get("scratch") or DEFAULT_SCRATCH))
    checked["poll_interval"] = _number(options.get("poll_interval", 5.0), where,
                                       "poll_interval")
    checked["job_name_prefix"] = str(options.get("job_name_prefix") or "bridge")
    checked["script_only"] = options.get("script_only") in (True, "true", "True", "1", 1)
    checked["bridge_command"] = str(options.get("bridge_command") or default_bridge())
    return checked


def default_bridge() -> str:
    """The submitting interpreter's bridge: the nodes share its filesystem."""
    beside = os.path.join(os.path.dirname(sys.executable), "bridge")
    if os.path.exists(beside):
        return shlex.quote(beside)
    return f"{shlex.quote(sys.executable)} -c 'from bridge.cli import main; main()'"


def job_options(defaults: dict[str, Any], work: Work) -> dict[str, Any]:
    """The make-up of ``work``'s job: the executor's job keys with the call's on top. Calls
    that agree on all of it share an array job."""
    where = f"task {work.task.fullname}: option"
    given = _job_values({key: work.options[key] for key in (*JOB_KEYS, "cpus")
                         if key in work.options}, where)
    merged = {key: defaults.get(key) for key in JOB_KEYS} | given
    return {**merged, "task": work.task.fullname, "script": work.is_script,
            "tempdir": bool(work.is_script and work.kwargs.get("tempdir"))}


def sbatch_arguments(job: dict[str, Any]) -> list[str]:
    """The ``sbatch`` options for a job of make-up ``job``."""
    args = [f"--cpus-per-task={job['vcpus'] or 1}"]
    if job["memory"]:
        args.append(f"--mem={max(1, round(job['memory'] * 1024))}M")
    for key in ("partition", "account", "qos", "time", "gres", "constraint"):
        if job[key]:
            args.append(f"--{key}={job[key]}")
    return args + list(job["sbatch_args"] or [])


def _job_values(options: dict[str, Any], where: str) -> dict[str, Any]:
    """The job keys among ``options``, checked; ``where`` names their place in errors."""
    if "cpus" in options and "vcpus" in options:
        raise SlurmConfigError(f"{where} cpus and vcpus: {BOTH_CPUS}")
    values: dict[str, Any] = {}
    for key in JOB_KEYS:
        value = options.get("cpus" if key == "vcpus" and "cpus" in options else key)
        if value is None or value == "":
            continue
        if key == "vcpus":
            number = _number(value, where, "vcpus")
            if number != int(number):
                raise SlurmConfigError(f"{where} vcpus: SLURM allocates whole CPUs, not "
                                       f"{value!r}")
            value = int(number)
        elif key == "memory":
            value = _number(value, where, "memory (GiB)")
        elif key == "time":
            try:
                value = time_limit(value)
            except ValueError as error:
                raise SlurmConfigError(f"{where} time: {error}") from None
        elif key == "sbatch_args":
            value = shlex.split(value) if isinstance(value, str) else [str(v) for v in value]
        else:
            value = str(value)
        values[key] = value
    return values


def _number(value: Any, where: str, key: str) -> float:
    number = as_number(value)
    if not number > 0:  # NaN too
        raise SlurmConfigError(f"{where} {key}: must be a positive number, not {value!r}")
    return number


def time_limit(value: Any) -> str:
    """A time limit as sbatch takes it: minutes (a number), or [D-]HH:MM:SS and its
    shorter forms; raises ValueError saying so."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return str(max(1, round(value)))
    text = str(value).strip()
    if not _TIME.fullmatch(text):
        raise ValueError(f"{value!r} is not a SLURM time limit (minutes, or [D-]HH:MM:SS, "
                         "e.g. 90 or 1:30:00 or 2-00:00:00)")
    return text
