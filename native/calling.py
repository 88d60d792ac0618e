"""A call's identity and its record: the call hash (the task, the task whose body called
a built-in, the arguments bound to the signature) and each argument as the store keeps
it (value hash, the upstream calls it came from, the files it held and their hashes)."""

from __future__ import annotations

from typing import Any, NamedTuple

from bridge.native.file import SCALAR_TYPES, FileError, find_files
from bridge.native.hashing import hash_call, hash_parts, hash_value
from bridge.native.job import Argument, Source
from bridge.native.secrets import REDACTED, secret_parameters
from bridge.native.values import preview

CALL_WIDTH = 90


def scalars_only(args: tuple, kwargs: dict) -> bool:
    """Whether every argument of a call is of one of the SCALAR_TYPES: such a call
    (most calls) hashes without looking anything up, and skips the walks through its
    values."""
    for value in args:
        if type(value) not in SCALAR_TYPES:
            return False
    return not kwargs or all(type(value) in SCALAR_TYPES for value in kwargs.values())


class UnhashableArgumentError(TypeError):
    """A task was called with an argument bridge cannot hash."""


class ArgumentFileError(UnhashableArgumentError):
    """A File or Dir in an argument cannot be looked at (no credentials, access denied):
    the user's environment to fix, not their data."""


class CallIdentity(NamedTuple):
    """A call's hash and its arguments' (a NamedTuple: cheaper to define than a dataclass,
    at the start of every run)."""

    call_hash: str
    arg_hashes: list[str]
    kwarg_hashes: dict[str, str]


def identify_call(task: Any, caller_task: Any, args: tuple, kwargs: dict) -> CallIdentity:
    """Hash a call. A built-in task (``script()``, ``copy_file``) called from a body also
    hashes in the calling task's hash, so editing or bumping the wrapper re-runs the tool."""
    # A scalar cannot fail to hash: it skips the guard that names a failing argument.
    arg_hashes = [hash_value(arg) if type(arg) in SCALAR_TYPES else
                  _hash_argument(task, i, arg) for i, arg in enumerate(args)]
    kwarg_hashes = {name: _hash_argument(task, name, arg) for name, arg in kwargs.items()
                    } if kwargs else {}
    return CallIdentity(call_hash_of(task, caller_task, arg_hashes, kwarg_hashes), arg_hashes,
                        kwarg_hashes)


def call_hash_of(task: Any, caller_task: Any, arg_hashes: list[str],
                 kwarg_hashes: dict[str, str]) -> str:
    """The hash of a call from its arguments' hashes (a dry run's plan makes a recorded
    call again from those)."""
    task_hash = task.hash
    if task.is_builtin and caller_task is not None:
        task_hash = hash_parts("called-from", [task_hash, caller_task.hash])
    return hash_call(task_hash, task.binding.bound_hashes(arg_hashes, kwarg_hashes))


def argument_name(task: Any, index: int) -> str:
    """The name of positional argument ``index`` (``*index`` when ``*args`` takes it)."""
    names = task.positional_names
    return names[index] if index < len(names) else f"*{index}"


def _hash_argument(task: Any, key: int | str, value: Any) -> str:
    """The hash of the argument at ``key`` (a position or a keyword)."""
    try:
        return hash_value(value)
    except FileError as error:  # its message names the path and what to do
        name = argument_name(task, key) if type(key) is int else key
        raise ArgumentFileError(f"argument {name} of {task.fullname}: {error}") from None
    except Exception as error:
        raise UnhashableArgumentError(
            f"an argument of {task.fullname}(...) cannot be hashed "
            f"({type(error).__name__}: {error}): pass plain data, Files, or objects "
            "that pickle"
        ) from error


def describe_call(job: Any) -> str:
    """``task(name=value, ...)`` with short value previews (``***`` for secret ones), as
    dry runs and failure messages name a call."""
    names = job.task.positional_names
    given = [(names[i] if i < len(names) else "*", arg) for i, arg in enumerate(job.args)]
    return call_text(job.task.fullname, [(name, preview(arg)) for name, arg in
                                         [*given, *job.kwargs.items()]],
                     secret_parameters(job.task))


def call_text(task_name: str, shown: list[tuple[str, str]], secret: set[str]) -> str:
    """``task(name=shown, ...)``, secret arguments as ``***``, cut at CALL_WIDTH."""
    parts = [f"{name}={REDACTED if name in secret else text}" for name, text in shown]
    text = f"{task_name}({', '.join(parts)})"
    return text if len(text) <= CALL_WIDTH else text[: CALL_WIDTH - 4] + "...)"


def describe_arguments(
    task: Any,
    args: tuple,
    kwargs: dict,
    identity: CallIdentity,
    arg_sources: tuple[Source, ...],
    kwarg_sources: tuple[Source, ...],
    scalars: bool = False,
) -> tuple[tuple[Argument, ...], list[list[str]]]:
    """Each argument's name, value hash, sources (the upstream calls it came from) and
    the [uri, hash] of each file it holds, as read for this call (a file built into an
    argument in a body, a script's staged inputs, stays traceable, and an execution keeps
    the hashes it saw); and all those files together, for the validity of its parents.
    ``scalars``: every argument is a scalar (no files in it)."""
    all_files: list[list[str]] = []
    if scalars and not arg_sources and not kwarg_sources:  # a name and a hash each
        arguments = [Argument(argument_name(task, index), arg_hash)
                     for index, arg_hash in enumerate(identity.arg_hashes)]
        if identity.kwarg_hashes:
            arguments += [Argument(name, arg_hash)
                          for name, arg_hash in identity.kwarg_hashes.items()]
        return tuple(arguments), all_files
    arguments = []
    for index, (value, arg_hash) in enumerate(zip(args, identity.arg_hashes, strict=True)):
        arguments.append(_describe(argument_name(task, index), value, arg_hash, arg_sources,
                                   index, all_files))
    for name, arg_hash in identity.kwarg_hashes.items():
        arguments.append(_describe(name, kwargs[name], arg_hash, kwarg_sources, name, all_files))
    return tuple(arguments), all_files


def _describe(name: str, value: Any, value_hash: str, sources: tuple[Source, ...], key: Any,
              all_files: list[list[str]]) -> Argument:
    files = find_files(value)
    if files:
        all_files.extend(files)
    # () for the many arguments that came from no call: json writes it as [] too.
    return Argument(name, value_hash,
                    (sources and [[list(sub[1:]), ch, list(path)] for sub, ch, path in sources
                                  if sub[0] == key]) or (),
                    files or None)
