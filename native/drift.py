"""Version drift: a task pinned with ``version=`` hashes by that version, not its source, so
an edit of its body keeps replaying the results of the earlier code. That is the version
contract; silence is not. The store records the source (its hash) each version was first
run with, each a ``--no-cache`` run ran, and each accepted since (``--accept-version``;
``accept_versions=`` from Python, in ``task_sources``); a task used in a
run whose version has recorded sources and whose current source is none of them drifts:
one warning per task per run, its results still replay.

Only tasks defined when the run starts are checked: their recorded sources are read with
the run's first query (see ``CallGraphStore.start_reads``)."""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from bridge.native.hashing import hash_text
from bridge.native.task import registry

if TYPE_CHECKING:
    from bridge.native.recording import Recorder
    from bridge.native.task import Task


class VersionDriftWarning(UserWarning):
    """A pinned task's source changed while its version did not: its calls replay results
    of the recorded code. ``task_name`` and ``version`` say which, for front-ends that
    word the fix their own way (`bridge run` prints the command to copy)."""

    def __init__(self, task_name: str, version: str) -> None:
        self.task_name = task_name
        self.version = version
        super().__init__(self.worded(
            f"bridge run --accept-version {self.accept_pair} ..., or "
            f"Scheduler().run(..., accept_versions={{{task_name!r}: {version!r}}})"))

    def worded(self, accept: str) -> str:
        """The warning, with ``accept`` as the way to accept the source."""
        return (f"{self.summary} To run the new code, bump its version; to keep the results "
                f"and accept this source for version {self.version!r}: {accept}")

    @property
    def summary(self) -> str:
        return (f"task {self.task_name} is pinned at version {self.version!r} but its source "
                f"differs from the source recorded with that version: its calls replay "
                f"results of the recorded code.")

    @property
    def accept_pair(self) -> str:
        return f"{self.task_name}={self.version}"


class VersionAcceptError(ValueError):
    """``accept_versions`` names a task that is not defined, or not at that version."""


def source_hash(task: Task) -> str:
    """The hash of the task's source, decorators stripped (what an unversioned task's
    hash covers)."""
    return hash_text(task.source)


def versioned_tasks() -> dict[str, Task]:
    """The workflow's tasks defined now that are pinned with ``version=``, by task hash.
    bridge's own (``script``, ``copy_file``, ...) are left out: their source changes with
    bridge, and reading it would parse bridge's modules on every run."""
    return {task.hash: task for task in registry
            if task.version is not None and not task.is_builtin}


def pinned_task_named(name: str) -> Task:
    """The defined task an ``--accept-version NAME=...`` names: by its full name, or by
    its bare name when only one task has it."""
    found = registry.get(name)
    if found is not None:
        return found
    matches = [task for task in registry if task.name == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(sorted(task.fullname for task in matches))
        raise VersionAcceptError(f"{name}: several tasks are named so ({names}); give the "
                                 "full name")
    raise VersionAcceptError(f"{name}: no task of that name is defined")


def accepted_tasks(accept: Mapping[str, str]) -> list[Task]:
    """The tasks ``accept`` ({task name: version}) names, each checked to be pinned at
    that version."""
    tasks = []
    for name, version in accept.items():
        task = pinned_task_named(name)
        if task.version is None:
            raise VersionAcceptError(
                f"{name}={version}: task {task.fullname} has no version, so an edit of its "
                "source re-runs it; there is nothing to accept")
        if str(task.version) != str(version):
            raise VersionAcceptError(f"{name}={version}: task {task.fullname} is at version "
                                     f"{task.version!r}, not {str(version)!r}")
        tasks.append(task)
    return tasks


class VersionDrift:
    """One execution's drift check: each pinned task it uses is checked once, when its
    first call is made or a replayed subtree holds it."""

    def __init__(self, versioned: dict[str, Task], recorded: dict[str, set[str]],
                 recorder: Recorder, *, replaying: bool, warn: bool,
                 accept: Mapping[str, str] | None = None) -> None:
        self.recorded = recorded
        self.recorder = recorder
        self.replaying = replaying  # False: --no-cache
        self.warn = warn  # False: a dry run lists the drifting tasks instead
        # Pinned tasks not yet checked in this run (empty: the checks cost nothing).
        self.unchecked = dict(versioned)
        self.drifting: list[Task] = []
        for task in accepted_tasks(accept or {}):
            self._record(task, accepted=time.time())

    def check(self, task: Task) -> None:
        """Check ``task`` the first time this run uses it."""
        if self.unchecked and self.unchecked.pop(task.hash, None) is not None:
            self._check(task)

    def check_hashes(self, task_hashes: Iterable[str]) -> None:
        """Check the pinned tasks among those of a replayed subtree."""
        unchecked = self.unchecked
        for task_hash in task_hashes:
            task = unchecked.pop(task_hash, None)
            if task is not None:
                self._check(task)

    def _check(self, task: Task) -> None:
        recorded = self.recorded.get(task.hash)
        if recorded is None or not self.replaying:
            # The version's first run here, or a run that replays nothing (--no-cache):
            # the results it leaves are this source's.
            self._record(task, accepted=None)
            return
        if not task.cache or source_hash(task) in recorded:
            return  # cache=False: its calls always run, nothing stale replays
        self.drifting.append(task)
        if self.warn:
            _warn_at_caller(VersionDriftWarning(task.fullname, str(task.version)))

    def _record(self, task: Task, accepted: float | None) -> None:
        digest = source_hash(task)
        recorded = self.recorded.setdefault(task.hash, set())
        if digest not in recorded or accepted is not None:
            recorded.add(digest)
            self.recorder.task_source(task.hash, digest, task.source, accepted)


def _warn_at_caller(warning: Warning) -> None:
    """Warn at the first frame outside bridge (the ``run(...)`` call), so Python shows
    that line, and with a registry of this warning's own, so a later run from the same
    line (a loop, a long-lived worker) warns again: once per run, not once per process."""
    # bridge's own code: this package (bridge/native/ installed, native/ in a checkout) and
    # its parent package bridge/, imported before it
    own = tuple(os.path.dirname(path) + os.sep
                for path in (__file__, sys.modules["bridge"].__file__ or ""))
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(own):
        frame = frame.f_back
    warnings.warn_explicit(warning, type(warning), frame.f_code.co_filename, frame.f_lineno,
                           module=frame.f_globals.get("__name__"), registry={},
                           module_globals=frame.f_globals)


def recorded_pairs(rows: Iterable[Any]) -> dict[str, set[str]]:
    """``{task hash: {source hash, ...}}`` from (task_hash, source_hash) rows."""
    recorded: dict[str, set[str]] = {}
    for task_hash, digest in rows:
        recorded.setdefault(task_hash, set()).add(digest)
    return recorded
