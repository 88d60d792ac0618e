"""A job: one evaluation of one call within an execution."""

from __future__ import annotations

import os
import random
from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from bridge.native.promise import Promise
from bridge.native.task import normalise_limits, normalise_tags

PENDING, RUNNING, DONE, CACHED, FAILED, CANCELLED = (
    "PENDING", "RUNNING", "DONE", "CACHED", "FAILED", "CANCELLED",
)

Source = tuple[tuple, str, tuple]  # (subpath in this value, call hash, path into its result)
NO_SOURCES: tuple[Source, ...] = ()
# What most jobs hold, shared rather than one empty container each: an execution of
# 100,000 calls keeps them all until it ends.
NO_FILES: tuple[list[str], ...] = ()
NO_OPTIONS: Mapping[str, Any] = MappingProxyType({})
NO_CONTEXT: dict[str, Any] = {}  # never changed: a call's context is made anew
_own_task: dict[str, frozenset[str]] = {}  # task hash -> {task hash}


# Job ids come from a generator of bridge's own, seeded from the OS and reseeded in forked
# children: a body calling ``random.seed(0)`` would make the global one repeat ids.
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)


def new_job_id() -> str:
    """A random (version 4) UUID as text; unlike ``uuid4()`` it needs no system call per
    job, and unlike ``str(UUID(...))`` no object."""
    digits = "%032x" % (_ids.getrandbits(128) & _UUID_RANDOM | _UUID_V4)
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


# The bits a version 4 UUID fixes: its version (4) and its variant (RFC 4122).
_UUID_V4 = 4 << 76 | 0x8000 << 48
_UUID_RANDOM = ~(0xF000 << 64 | 0xC000 << 48)


class Argument:
    """One argument of a call as its job row records it: its name, value hash, sources
    (``[[subpath], call hash, [path]]`` of the upstream calls it came from) and, when it
    holds files, their ``[uri, hash]``. Read like the row's dict (``argument["hash"]``,
    ``argument.get("files")``) and made that dict only when the row is written: a
    fan-out keeps one per child until its parent ends, at a third of a dict's size."""

    __slots__ = ("files", "hash", "name", "sources")

    def __init__(self, name: str, value_hash: str, sources: list | tuple = (),
                 files: list | None = None) -> None:
        self.name, self.hash, self.sources, self.files = name, value_hash, sources, files

    def __getitem__(self, key: str) -> Any:
        # Read once per argument when a parent's returned expression is recorded: no
        # call to get(), and a set for the names.
        found = getattr(self, key) if key in _ARGUMENT_FIELDS else None
        if found is None:
            raise KeyError(key)
        return found

    def get(self, key: str, default: Any = None) -> Any:
        found = getattr(self, key) if key in _ARGUMENT_FIELDS else None
        return default if found is None else found

    def row(self) -> dict[str, Any]:
        """The job row's JSON form (``files`` only when it holds some)."""
        row = {"name": self.name, "hash": self.hash, "sources": self.sources}
        if self.files:
            row["files"] = self.files
        return row

    def __repr__(self) -> str:
        return f"Argument({self.row()!r})"


_ARGUMENT_FIELDS = frozenset(Argument.__slots__)


class Job:
    __slots__ = (
        "args",
        "argument_files",
        "arguments",
        "attempts",
        "call_hash",
        "call_options",
        "context",
        "context_reads",
        "executor_name",
        "exported",
        "id",
        "kwargs",
        "limits",
        "parent",
        "promise",
        "prov",
        "returned",
        "started",
        "status",
        "subtree_counts",
        "subtree_files",
        "subtree_tasks",
        "task",
        "unwritten",
        "use_cache",
    )

    def __init__(
        self,
        task: Any,
        call_options: dict | None,
        args: tuple,
        kwargs: dict,
        arguments: tuple[Argument, ...] | list[dict],
        call_hash: str,
        parent: Job | None,
        promise: Promise,
    ) -> None:
        self.id = new_job_id()
        self.task = task
        self.call_options = call_options
        self.args = args
        self.kwargs = kwargs
        self.arguments = arguments
        self.call_hash = call_hash
        self.parent = parent
        self.promise = promise
        self.status = PENDING
        self.started = 0.0
        # Started, and its row not yet in a write batch (see bridge.native.recording).
        self.unwritten = False
        self.attempts = 0
        self.executor_name = (task.option("executor", call_options) if call_options
                              else task.executor)
        self.limits: dict[str, int] = (
            normalise_limits(call_options["limits"])
            if call_options and "limits" in call_options else task.limits
        )
        # The task hashes beneath a call (and the context marks read there): a leaf's
        # is its task's own, shared; a parent's becomes a set of its own as it grows.
        own = _own_task.get(task.hash)
        if own is None:
            own = _own_task[task.hash] = frozenset((task.hash,))
        self.subtree_tasks: set[str] | frozenset[str] = own
        # [uri, hash] of the files in this call's arguments, as read when it was called;
        # and of the files in the arguments and results of every call beneath it, plus
        # its own result's (what a parent's cache entry is checked against).
        self.argument_files: list[list[str]] | tuple[list[str], ...] = NO_FILES
        self.subtree_files: list[list[str]] | tuple[list[str], ...] = NO_FILES
        # {task name: calls} beneath a parent, itself included; None for a leaf.
        self.subtree_counts: dict[str, int] | None = None
        self.returned: Any = None
        self.use_cache = True
        # The context values this call sees (its parent's, with its own update_context).
        self.context: dict = NO_CONTEXT
        # Marks of the context values this call read (its get_context defaults and
        # options): they are in its call hash already, so only its parents keep them.
        self.context_reads: list[str] | tuple[str, ...] = ()
        # Whether this call is recorded: a prov=False task turns recording off beneath it.
        self.prov = (parent is None or parent.prov) and bool(
            task.option("prov", call_options, task.prov))
        # The options this call hands down to the calls beneath it (see exported_options).
        self.exported: Mapping[str, Any] = NO_OPTIONS

    def add_subtree_tasks(self, hashes: Collection[str]) -> None:
        """Add task hashes (or context marks) to what this job's subtree holds; a job
        still holding its task's shared set copies it only when something is new."""
        if type(self.subtree_tasks) is frozenset:
            if self.subtree_tasks.issuperset(hashes):
                return
            self.subtree_tasks = set(self.subtree_tasks)
        self.subtree_tasks.update(hashes)  # type: ignore[union-attr]

    def add_subtree_files(self, files: Iterable[list[str]]) -> None:
        if type(self.subtree_files) is not list:
            self.subtree_files = list(self.subtree_files)
        self.subtree_files.extend(files)  # type: ignore[union-attr]

    def tags(self) -> dict[str, Any]:
        """The task's tags, with the call site's (``.options(tags=...)``) over them."""
        if not self.call_options and not self.task.tags:
            return {}  # most calls: nothing to normalise
        call_tags = normalise_tags((self.call_options or {}).get("tags"), self.task.fullname)
        return {str(key): value for key, value in [*self.task.tags, *call_tags]}

    def call_counts(self) -> dict[str, int]:
        """{task name: calls} this job stands for: itself, and a parent's subtree."""
        return self.subtree_counts or {self.task.fullname: 1}

    def upstream_call_hashes(self) -> list[str]:
        """The calls whose results flow into this call's arguments (its dataflow edges)."""
        return list(dict.fromkeys(source[1] for argument in self.arguments
                                  for source in argument["sources"]))

    def option(self, name: str, default: Any = None) -> Any:
        return self.task.option(name, self.call_options, default)

    def __repr__(self) -> str:
        return f"<Job {self.task.fullname} {self.id[:8]} {self.status}>"
