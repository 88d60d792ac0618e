"""What `bridge run` says of version drift (see :mod:`bridge.native.drift`): the warning
as one plain line with the command to copy, and the dry run's lines."""

from __future__ import annotations

import shlex
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bridge.native.drift import VersionDriftWarning
from bridge.native.secrets import REDACTED

ACCEPT_OPTION = "--accept-version"


def accept_command(run_args: Sequence[str], pair: str) -> str:
    """`bridge run` with ``run_args`` (its options, workflow, task and arguments) and
    ``--accept-version pair``: the same run, accepting the task's source. Secret
    arguments are shown as ``***``: the command says to put them back."""
    command = shlex.join(["bridge", "run", ACCEPT_OPTION, pair, *run_args])
    if any(REDACTED in token for token in run_args):
        command += f" (with each {REDACTED} replaced by its secret value)"
    return command


@contextmanager
def drift_warnings_as_lines(print_line: Callable[[str], None],
                            run_args: Sequence[str]) -> Iterator[None]:
    """While the block runs, each VersionDriftWarning is printed as one plain line (no
    source location), naming the command that accepts the source; other warnings show as
    Python shows them."""
    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message: Any, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
            if isinstance(message, VersionDriftWarning):
                accept = accept_command(run_args, message.accept_pair)
                print_line(f"[bridge] warning: {message.worded(accept)}")
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def dryrun_lines(execution: Any) -> list[str]:
    """A line for each pinned task of the dry run whose source drifted."""
    lines = []
    for task in execution.drift.drifting:
        warning = VersionDriftWarning(task.fullname, str(task.version))
        lines.append(f"  DRIFT      {task.fullname} (version {warning.version!r}): source "
                     "changed since recorded with this version; its calls replay")
        lines.append(f"             bump the version, or accept it: {ACCEPT_OPTION} "
                     f"{warning.accept_pair}")
    return lines
