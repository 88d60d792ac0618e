"""What a running task body may know about its own job: ``job_info: JobInfo = JobInfo()``
as a parameter default (as redun users write it) is replaced, when the body runs, by the
job's ids and hashes. The placeholder takes no part in the call's hash."""

from __future__ import annotations

import weakref
from itertools import repeat
from typing import TYPE_CHECKING, Any

from bridge.native.hashing import hash_parts, hash_text

if TYPE_CHECKING:
    from bridge.native.job import Job

_PLACEHOLDER_HASH = hash_text("bridge.JobInfo")


class JobInfo:
    """The running job: ``execution_id``, ``job_id`` (as ``bridge log`` shows them),
    ``eval_hash`` (the call hash: the same for the same task code and arguments, so a
    good name for a call's own output folder), ``args_hash`` (the arguments' part of
    it) and the ``options`` the job runs with."""

    def __init__(self, execution_id: str = "", job_id: str = "", eval_hash: str = "",
                 args_hash: str = "", options: dict | None = None) -> None:
        self.execution_id = execution_id
        self.job_id = job_id
        self.eval_hash = eval_hash
        self.args_hash = args_hash
        self.options = dict(options or {})

    def __bridge_hash__(self) -> str:
        return _PLACEHOLDER_HASH

    def __repr__(self) -> str:
        return (f"JobInfo(execution_id={self.execution_id}, job_id={self.job_id}, "
                f"eval_hash={self.eval_hash}, args_hash={self.args_hash}, "
                f"options={self.options})")


_placeholders: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


def _placeholder_parameters(task: Any) -> list[str]:
    """The parameters whose default is a JobInfo (read once per task: asked at every call)."""
    names = _placeholders.get(task)
    if names is None:
        names = _placeholders[task] = [p.name for p in task.signature.parameters.values()
                                       if isinstance(p.default, JobInfo)]
    return names


def caller_parameters(task: Any) -> dict[str, Any]:
    """The task's parameters a caller gives (the command line's arguments): all but the
    JobInfo placeholders, which the scheduler fills."""
    return {name: p for name, p in task.signature.parameters.items()
            if not isinstance(p.default, JobInfo)}


def arguments_for_body(job: Job, execution_id: str, options: dict) -> tuple[tuple, dict]:
    """The job's arguments with each JobInfo (given, or a parameter's default) replaced
    by this job's; the job's own arguments unchanged when there is none."""
    args, kwargs = job.args, job.kwargs
    # At every call: isinstance mapped in C, no Python frame per argument.
    given = any(map(isinstance, args, repeat(JobInfo))) or (
        bool(kwargs) and any(map(isinstance, kwargs.values(), repeat(JobInfo))))
    placeholders = _placeholder_parameters(job.task)
    if not placeholders and not given:
        return args, kwargs
    positional = job.task.positional_names[:len(args)]
    defaults = [name for name in placeholders if name not in kwargs and name not in positional]
    if not defaults and not given:
        return args, kwargs
    info = JobInfo(execution_id, job.id, job.call_hash,
                   hash_parts("args", [argument["hash"] for argument in job.arguments]),
                   {"executor": job.executor_name, **options})
    args = tuple(info if isinstance(v, JobInfo) else v for v in args)
    kwargs = {k: info if isinstance(v, JobInfo) else v for k, v in kwargs.items()}
    kwargs.update(dict.fromkeys(defaults, info))
    return args, kwargs
