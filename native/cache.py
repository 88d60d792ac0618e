"""The cache policy: which recorded entry, if any, a call replays instead of running.

An entry (a row of ``calls``) is valid for a call with the same call hash when
- every task hash recorded in its subtree (the call and everything called beneath it)
  is the hash of a task defined now: edit a leaf and the cached parents above it run
  their bodies again, replaying the children that did not change;
- every custom Value in its result (see :mod:`bridge.native.custom_values`) says it
  ``is_valid()``;
- every context value read beneath it (``get_context``) is the same in the context the
  call is made in now;
- every File and Dir in its result still has its recorded hash, and, with
  ``check_valid="full"`` (the default), so does every File and Dir in the arguments and
  results of every call beneath it, including files a body built itself
  (``File(path)`` from a string argument) and passed on.

Looking up a batch of calls is one query; checking an entry looks each distinct file up
once. An entry whose stored result cannot be read is not replayed: the call runs again,
with a warning that says why.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from bridge.native.context import CONTEXT_READ_PREFIX, marks_unchanged
from bridge.native.custom_values import get_type_registry
from bridge.native.file import files_unchanged, one_look_per_path
from bridge.native.store import CachedCall, CallGraphStore

if TYPE_CHECKING:
    from bridge.native.job import Job


_registry = get_type_registry()


class CacheReadWarning(UserWarning):
    """A valid cache entry's result could not be read, so its call runs again."""


class CachePolicy:
    def __init__(self, store: CallGraphStore, current_task_hashes: Callable[[], set[str]],
                 cached_task_hashes: set[str],
                 refuses: Callable[[list[list[str]]], bool]) -> None:
        self.store = store
        self.current_task_hashes = current_task_hashes
        # Read once, as the run starts (empty: cache disabled): a call whose task has no
        # cache entry at all skips the lookup query.
        self.cached_task_hashes = cached_task_hashes
        # Whether an entry must not replay for its result files (temporary files being
        # made again, see temp_files.py)
        self.refuses = refuses

    def may_hit(self, job: Job) -> bool:
        return job.use_cache and job.task.hash in self.cached_task_hashes

    def find_hits(self, jobs: Iterable[Job], beneath_root: bool = False
                  ) -> dict[str, tuple[CachedCall, Any]]:
        """By job id, for the jobs that hit: the valid entry and its result. A job with no
        parent is a top-level call, whose result the run hands over, unless
        ``beneath_root`` says these jobs stand for calls made beneath one (the dry-run
        plan's predicted calls)."""
        jobs = list(jobs)
        found = self.store.lookup_calls(job.call_hash for job in jobs)
        hits = {}
        # Per distinct subtree (entries of one task share theirs): its context reads, or
        # None when a task in it is not defined now.
        reads_of: dict[int, list[str] | None] = {}
        with one_look_per_path():  # a file recorded by many entries: one look
            for job in jobs:
                root = job.parent is None and not beneath_root
                for cached in found.get(job.call_hash, ()):
                    if self.is_valid(cached, job, reads_of, root):
                        break
                else:
                    continue
                try:
                    result = self.store.load_cached_result(cached)
                except Exception as error:  # a value store file deleted or unreadable
                    warnings.warn(
                        f"the cached result of {job.task.fullname} (call {job.call_hash[:8]}) "
                        f"cannot be read ({type(error).__name__}: {error}): running it again",
                        CacheReadWarning, stacklevel=2,
                    )
                    continue
                if _registry.in_use and not _registry.is_valid_nested(result):
                    continue  # a custom value in it says it is no longer valid
                hits[job.id] = (cached, result)
        return hits

    def is_valid(self, cached: CachedCall, job: Job,
                 reads_of: dict[int, list[str] | None], root: bool) -> bool:
        """Whether ``cached`` replays for ``job``; ``root``: the job is a top-level call,
        whose result the run hands over, so every file in it must be there."""
        if self.refuses(cached.result_files):
            return False
        key = id(cached.subtree_tasks)
        if key in reads_of:
            reads = reads_of[key]
        else:
            reads = reads_of[key] = self._context_reads(cached.subtree_tasks)
        if reads is None:
            return False
        if reads and not marks_unchanged(reads, job.context):
            return False
        if not (root or cached.subtree_files or cached.result_files):
            return True  # no file to check (a leaf of plain values)
        full = job.option("check_valid", job.task.check_valid) == "full"
        if root:  # the run's result is handed over: its files must all be there
            if not files_unchanged(cached.result_files, temp_may_be_gone=False):
                return False
            if not full:
                return True
        files = cached.subtree_files if full else cached.result_files
        return not files or files_unchanged(files)

    def _context_reads(self, subtree_tasks: list[str]) -> list[str] | None:
        """The context reads recorded in a subtree; None when a task hash in it is not
        the hash of a task defined now (an edited task: the entry is stale)."""
        current = self.current_task_hashes()
        reads = []
        for task_hash in subtree_tasks:
            if task_hash.startswith(CONTEXT_READ_PREFIX):
                reads.append(task_hash)
            elif task_hash not in current:
                return None
        return reads


class SharedSubtrees:
    """The subtree of each entry a batch of lookups replays, as a job holds it: one
    frozenset of task hashes and one tuple of files per distinct decoded list, shared by
    the jobs replaying it (the store decodes equal JSON texts once). Jobs copy these on
    their first change, so sharing them is safe."""

    def __init__(self) -> None:
        # Keyed by the decoded list's id: the batch's entries keep those lists alive.
        self._tasks: dict[int, frozenset[str]] = {}
        self._files: dict[int, tuple[list[str], ...]] = {}

    def of(self, cached: CachedCall) -> tuple[frozenset[str], tuple[list[str], ...]]:
        tasks = self._tasks.get(id(cached.subtree_tasks))
        if tasks is None:
            tasks = self._tasks[id(cached.subtree_tasks)] = frozenset(cached.subtree_tasks)
        files = self._files.get(id(cached.subtree_files))
        if files is None:
            files = self._files[id(cached.subtree_files)] = tuple(cached.subtree_files)
        return tasks, files
