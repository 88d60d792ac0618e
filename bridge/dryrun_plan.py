"""The whole plan of a dry run: beneath each call that would run, the calls its body made
the last time it ran, each predicted to run or to replay, and why.

The engine's dry run (``Scheduler.dryrun``) runs no body, so it knows the top-level calls
only. Beneath a call that would run, this module reads the subtree the store recorded for
it: the newest job with the same call hash, else (new arguments or new code) the job its
previous version was, else the newest job of the same task. Each recorded child is then
judged as the engine would judge it when the body makes that call again:

- an argument that came from the result of a call that runs (the sources the store
  records), or that holds a file a running call makes, changes: the child runs;
- an argument holding a file that changed since (re-hashed now) changes: the child runs;
- otherwise its call hash is recomputed (the task as defined now, the recorded argument
  hashes) and the cache policy says whether an entry is valid, as in a real run.

A child predicted to run is expanded the same way, depth first in call order, on an
explicit stack (a recursive workflow can be thousands of calls deep). Last, the calls the
real run re-runs to make a gone temporary file again (``File(...).temp()``, see
``native/temp_files.py``) are marked to run: the producer of each such file that a call
which runs reads, or that a top-level call which runs returns. Nothing is written. A body
may make other calls this time (its code or its arguments changed), so predicted calls
are marked as such.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

from bridge import queries
from bridge.dryrun import miss_reason
from bridge.history import recorded_files
from bridge.native.binding import CallSignatureError
from bridge.native.calling import call_hash_of, call_text, describe_call
from bridge.native.file import File, files_unchanged, one_look_per_path, recorded_flags
from bridge.native.graph import DataflowEdge
from bridge.native.job import CACHED, DONE, Job
from bridge.native.promise import Promise
from bridge.native.script import SCRIPT_TASK_NAME
from bridge.native.secrets import secret_parameters
from bridge.native.task import registry

WOULD_RUN, REPLAYS, UNKNOWN = "WOULD RUN", "CACHED", "UNKNOWN"
INDENTED_LEVELS = 20  # deeper calls are printed at this indent, with their depth


@dataclass(eq=False)
class PlanNode:
    """One call of the plan: an engine job (``predicted`` False) or a recorded call
    predicted beneath a call that would run."""

    task_name: str
    description: str
    status: str  # WOULD_RUN, REPLAYS or UNKNOWN
    predicted: bool
    reason: str = ""  # why it would run (or why it cannot be predicted)
    source: str = ""  # where the calls beneath it were predicted from
    template: dict | None = None  # the recorded job those calls were read from
    # The value hashes, in that job, of the arguments that take another value now, by
    # name: a call beneath it handed one of them gets the new value.
    changed_arguments: dict[str, str] = field(default_factory=dict)
    parent: PlanNode | None = None
    children: list[PlanNode] = field(default_factory=list)
    # Dataflow: (the call an input comes from, the argument it feeds).
    upstream: list[tuple[PlanNode, str]] = field(default_factory=list)
    job: Job | None = None  # the engine's job, or a stand-in the cache was asked about
    recorded: dict | None = None  # the recorded job a predicted call stands for
    depth: int = 0  # how many calls are above it

    @property
    def short(self) -> str:
        """``task(...)``: how a reason names this call."""
        return self.task_name.rpartition(".")[2] + "(...)"

    def walk(self) -> list[PlanNode]:
        """This node and every node beneath it, depth first, in call order."""
        found: list[PlanNode] = []
        stack = [self]
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(reversed(node.children))
        return found

    def argument_files(self) -> list[list]:
        """The recorded [uri, hash(, flags)] of the files in its arguments."""
        arguments = self.recorded["arguments"] if self.recorded is not None else \
            self.job.arguments if self.job is not None else []
        return [entry for argument in arguments for entry in recorded_files(argument)]

    def result_files(self) -> list[list]:
        """The [uri, hash(, flags)] of the files its result held the last time."""
        recorded = self.recorded or self.template or {}
        return recorded.get("result_files") or []


Expansion = Generator["Expansion", None, Any]  # yields the expansions to run before it goes on


def _run(expansion: Expansion) -> None:
    """Run an expansion and those it yields, depth first, on an explicit stack."""
    stack = [expansion]
    while stack:
        try:
            stack.append(next(stack[-1]))
        except StopIteration:
            stack.pop()


def all_nodes(roots: list[PlanNode]) -> list[PlanNode]:
    """Every call of the plan, depth first, in call order."""
    return [node for root in roots for node in root.walk()]


def plan_run(execution: Any) -> list[PlanNode]:
    """The plan of a finished dry run: its top-level calls, with predicted subtrees
    beneath those that would run."""
    return _Planner(execution).plan()


class _Planner:
    def __init__(self, execution: Any) -> None:
        self.execution = execution
        self.store = execution.store
        self.would_run = {job.id for job in execution.would_run}
        self.by_recorded_hash: dict[str, PlanNode] = {}  # a call hash as recorded -> node
        self.made_by: dict[str, PlanNode] = {}  # file uri -> the running call that makes it
        self.seen: dict[str, PlanNode] = {}  # a call hash planned -> its node (one job a call)
        # Per recorded execution read: its jobs by parent id, in start order.
        self.children_in: dict[str, dict[str | None, list[dict]]] = {}

    def plan(self) -> list[PlanNode]:
        roots = []
        with one_look_per_path():
            # A dry run runs no body: every job it saw is a top-level call.
            for job in self.execution.jobs_by_hash.values():
                if job.call_hash in self.seen:  # the same call in two contexts
                    continue
                status = WOULD_RUN if job.id in self.would_run else REPLAYS
                if status == REPLAYS and job.status != CACHED:
                    continue  # never reached: it waits on a call that would run
                node = PlanNode(job.task.fullname, describe_call(job), status, False, job=job)
                self.by_recorded_hash[job.call_hash] = self.seen[job.call_hash] = node
                if status == WOULD_RUN:
                    node.reason = miss_reason(self.execution, job, root=job.parent is None)
                    _run(self._expand(node, job.call_hash, None))
                roots.append(node)
            _remake_temporaries(roots)
        return roots

    # -- the calls beneath a call that would run ------------------------------------------

    def _expand(self, node: PlanNode, call_hash: str | None, previous: dict | None,
                changed: set[str] | None = None) -> Expansion:
        """Predict the calls beneath ``node`` from the recorded job that best stands for
        it: the newest with its call hash (``None``: its inputs change, so none has it),
        else ``previous`` (the recorded call it is a new version of), else the newest of
        its task. ``changed``: the arguments whose value changes, when its own argument
        hashes are not known. A generator: it yields the expansions of the calls beneath,
        each to run before it goes on (see :func:`_run`)."""
        template, source = self._template(node, call_hash, previous)
        if template is None:
            return
        node.template = template
        node.changed_arguments = _changed_arguments(node, template, changed or set())
        rows = self._children(template)
        previews = queries.values_by_hash(
            self.store, [argument["hash"] for row in rows for argument in row["arguments"]])
        # Children to ask the cache about in one query, and what they return: a child
        # that takes one of those waits until the cache has answered.
        waiting: list[PlanNode] = []
        returned: set[str] = set()
        for row in rows:
            if returned & _inputs(row):
                yield from self._look_up(waiting)
                waiting, returned = [], set()
            child = yield from self._predict(row, node, previews)
            if child is not None:
                node.children.append(child)
                if child.status == WOULD_RUN and not child.reason:
                    waiting.append(child)
                    returned.add(row["call_hash"])
                    returned.update(uri for uri, *_ in row.get("result_files") or ())
        yield from self._look_up(waiting)
        if node.children:
            node.source = source
        self._register_outputs(node, template)

    def _children(self, job: dict) -> list[dict]:
        """The jobs ``job``'s body called, in start order. An execution's jobs are read
        once, by the index on their execution, for every parent planned from it."""
        by_parent = self.children_in.get(job["execution_id"])
        if by_parent is None:
            by_parent = self.children_in[job["execution_id"]] = {}
            rows = queries.find_jobs(self.store, execution_id=job["execution_id"], limit=None)
            for row in reversed(rows):  # newest first: started order is the reverse
                by_parent.setdefault(row["parent_id"], []).append(row)
        return by_parent.get(job["job_id"], [])

    def _template(self, node: PlanNode, call_hash: str | None, previous: dict | None
                  ) -> tuple[dict | None, str]:
        if call_hash is not None:
            same = queries.find_jobs(self.store, call_hash=call_hash, status=DONE, limit=1)
            if same:
                return same[0], f"its last run (job {same[0]['job_id'][:8]})"
        if previous is not None:
            row = self._computing_job(previous)
            task = registry.get(node.task_name)
            other = [what for what, differs in (
                ("code", task is None or task.hash != row["task_hash"]),
                ("inputs", call_hash is None)) if differs]
            if not other:
                return row, f"its last run (job {row['job_id'][:8]})"
            return row, (f"its previous version (job {row['job_id'][:8]}), with other "
                         f"{' and '.join(other)}: its calls may differ now")
        rows = [row for row in queries.find_jobs(self.store, task_name=node.task_name,
                                                 status=DONE, limit=20)
                if row["task_name"] == node.task_name]
        if not rows:
            return None, ""
        return rows[0], (f"the newest recorded call of {node.task_name} (job "
                         f"{rows[0]['job_id'][:8]}), with other arguments: its calls may "
                         "differ now")

    def _computing_job(self, row: dict) -> dict:
        """The job whose children are ``row``'s: itself, or the one that computed the
        cache entry a replay (CACHED) replayed."""
        if row["status"] != CACHED:
            return row
        entries = queries.calls_by_hash(self.store, [row["call_hash"]]).get(row["call_hash"])
        for entry in entries or ():
            found = queries.job_by_id(self.store, entry["job_id"])
            if found is not None:
                return found
        return row

    def _predict(self, row: dict, parent: PlanNode, previews: dict[str, dict]
                 ) -> Generator[Expansion, None, PlanNode | None]:
        key = row["call_hash"]
        if key in self.by_recorded_hash:  # the same call made twice: one job
            return None
        task = registry.get(row["task_name"])
        node = PlanNode(row["task_name"], _describe(row, task, previews), WOULD_RUN, True,
                        parent=parent, recorded=row, depth=parent.depth + 1)
        self.by_recorded_hash[key] = node
        if task is None:
            node.status = UNKNOWN
            node.reason = (f"task {row['task_name']} is not defined now (renamed or removed): "
                           "the body may make other calls")
            return node
        self.execution.drift.check(task)  # a pinned task the body would call again
        changes = self._changed_inputs(row, node)
        if changes:
            node.reason = changes[0][1]
            yield self._expand(node, None, row, {name for name, _ in changes})
            return node
        job = self._stand_in(task, row, parent)
        if job is None:
            node.reason = "its recorded arguments no longer fit the task's signature"
            return node
        node.job = job
        if job.call_hash in self.seen:  # made again under another name: one job
            self.by_recorded_hash[key] = self.seen[job.call_hash]
            return None
        self.seen[job.call_hash] = node
        return node  # the cache is asked in _look_up, with its siblings

    def _look_up(self, nodes: list[PlanNode]) -> Expansion:
        """Ask the cache about these calls (one query), then expand, in call order, those
        that would run."""
        jobs = [node.job for node in nodes if node.job is not None]
        hits = self.execution.cache.find_hits(
            (job for job in jobs if self.execution.cache.may_hit(job)), beneath_root=True)
        for node in nodes:
            assert node.job is not None and node.recorded is not None
            if node.job.id in hits:
                node.status = REPLAYS
                self.execution.drift.check_hashes(hits[node.job.id][0].subtree_tasks)
            else:
                node.reason = miss_reason(self.execution, node.job, root=False)
                yield self._expand(node, node.job.call_hash, node.recorded)

    def _changed_inputs(self, row: dict, node: PlanNode) -> list[tuple[str, str]]:
        """(argument, why) for each argument of the recorded call that will hold another
        value this time."""
        changes = []
        for argument in row["arguments"]:
            why = self._changed_input(argument, node)
            if why:
                changes.append((argument["name"], why))
        return changes

    def _changed_input(self, argument: dict, node: PlanNode) -> str:
        """Why an argument of a recorded call will hold another value this time, or ''."""
        name = argument["name"]
        for _, call_hash, _ in argument["sources"]:
            upstream = self.by_recorded_hash.get(call_hash)
            if upstream is not None and (upstream, name) not in node.upstream:
                node.upstream.append((upstream, name))
            if upstream is not None and upstream.status != REPLAYS:
                return (f"its input {name} comes from {upstream.short}, which runs (unless "
                        "that comes out identical)")
        for entry in recorded_files(argument):
            uri = entry[0]
            maker = self.made_by.get(uri)
            if maker is not None:
                if (maker, name) not in node.upstream:
                    node.upstream.append((maker, name))
                return (f"its input file {uri} is made by {maker.short}, which runs (unless "
                        "it comes out identical)")
            if entry[1] is not None and not files_unchanged([entry]):
                return f"input file changed or missing: {uri} (argument {name})"
        handed = node.parent.changed_arguments.get(argument["hash"]) if node.parent else None
        if handed and not argument["sources"]:
            return f"its input {name} is {node.parent.short}'s argument {handed}, which changed"
        return ""

    def _stand_in(self, task: Any, row: dict, parent: PlanNode) -> Job | None:
        """A job for the recorded call made again now (the task as defined now, the
        recorded argument hashes), as the cache policy and ``miss_reason`` take it."""
        arguments = row["arguments"]
        positional_count = max((i + 1 for i, a in enumerate(arguments)
                                if a["name"].startswith("*")), default=0)
        positional = [a["hash"] for a in arguments[:positional_count]]
        named = {a["name"]: a["hash"] for a in arguments[positional_count:]}
        try:
            call_hash = call_hash_of(task, registry.get(parent.task_name), positional, named)
        except CallSignatureError:
            return None
        job = Job(task, None, (), {}, arguments, call_hash, None, Promise(deque()))
        above: PlanNode | None = parent
        while above is not None and above.job is None:
            above = above.parent
        job.context = above.job.context if above is not None and above.job else {}
        job.use_cache = self.execution.use_cache and task.cache
        return job

    def _register_outputs(self, node: PlanNode, template: dict) -> None:
        """The files a running call makes again: those its result held last time that
        it wrote (see :func:`_written_by`), except those a child that replays made."""
        kept = {uri for child in node.children if child.status == REPLAYS
                for uri, *_ in (child.recorded or {}).get("result_files") or ()}
        given = {uri for argument in template["arguments"]
                 for uri, *_ in recorded_files(argument)}
        for uri, *_ in template.get("result_files") or ():
            if uri not in kept and uri not in given and _written_by(uri, template):
                self.made_by.setdefault(uri, node)


def _remake_temporaries(roots: list[PlanNode]) -> None:
    """Mark to run the producers the real run re-runs to make a gone temporary file again:
    that of each such file a call which runs reads, or a top-level call which runs
    returns, and so on for the producers themselves."""
    nodes = all_nodes(roots)
    producers: dict[str, PlanNode] = {}  # uri -> the call that returned it first
    for node in nodes:
        passed = {uri for child in node.children for uri, *_ in child.result_files()}
        passed.update(uri for uri, *_ in node.argument_files())
        for uri, *_ in node.result_files():
            if uri not in passed:
                producers.setdefault(uri, node)
    pending = [node for node in nodes if node.status == WOULD_RUN]
    while pending:
        node = pending.pop()
        needs = [(entry, "reads") for entry in node.argument_files()]
        if not node.predicted:  # a top-level call: its result is handed over
            needs += [(entry, "returns") for entry in node.result_files()]
        for entry, how in _gone_temporaries(needs):
            maker = producers.get(entry[0])
            if maker is not None and maker.status == REPLAYS:
                maker.status, maker.template = WOULD_RUN, maker.recorded  # run as it was
                maker.reason = (f"the temporary file {entry[0]} is gone and {node.short}, "
                                f"which runs, {how} it")
                pending.append(maker)


def _gone_temporaries(needs: Iterable[tuple[list, str]]) -> list[tuple[list, str]]:
    return [(entry, how) for entry, how in needs
            if recorded_flags(entry)[1] and not File(entry[0]).exists()]


def _changed_arguments(node: PlanNode, template: dict, changed: set[str]) -> dict[str, str]:
    """{value hash in ``template``: argument name} of the arguments that differ now: from
    the call's own argument hashes when known, else those ``changed`` names."""
    if node.job is not None:
        now = {argument["name"]: argument["hash"] for argument in node.job.arguments}
        return {a["hash"]: a["name"] for a in template["arguments"]
                if now.get(a["name"]) != a["hash"]}
    return {a["hash"]: a["name"] for a in template["arguments"] if a["name"] in changed}


def _inputs(row: dict) -> set[str]:
    """The calls (hashes) whose results a recorded call took, and the files it took."""
    arguments = row["arguments"]
    return {*(source[1] for argument in arguments for source in argument["sources"]),
            *(uri for argument in arguments for uri, *_ in recorded_files(argument))}


def _describe(row: dict, task: Any, previews: dict[str, dict]) -> str:
    """``task(name=preview, ...)`` from the recorded arguments' value previews."""
    return call_text(row["task_name"],
                     [(argument["name"], previews.get(argument["hash"], {}).get("preview", "?"))
                      for argument in row["arguments"]],
                     secret_parameters(task) if task is not None else set())


def _written_by(uri: str, job: dict) -> bool:
    """Whether a file in a job's result was written by it, not just named (a manifest's
    task returns the FASTQs it lists): a script's outputs are; a local file is when it
    was last modified while the job ran. A remote file from a body counts as named."""
    if job["task_name"] == SCRIPT_TASK_NAME:
        return True
    if "://" in uri:
        return False
    try:
        modified = os.stat(uri.rstrip("/")).st_mtime
    except OSError:
        return False
    return job["started"] <= modified <= (job["ended"] or job["started"]) + 1


def plan_lines(roots: list[PlanNode]) -> list[str]:
    """The plan as the dry run prints it: each call with its status, and its reason and
    where its predicted calls come from, indented under its parent."""
    lines: list[str] = []
    for root in roots:
        for node in root.walk():
            pad = "  " * (min(node.depth, INDENTED_LEVELS) + 1)
            mark = "  (predicted)" if node.predicted else ""
            if node.depth > INDENTED_LEVELS:  # a deep recursion: lines stay short
                mark += f"  (depth {node.depth})"
            lines.append(f"{pad}{node.status:<10} {node.description}{mark}")
            if node.reason:
                lines.append(f"{pad}           because: {node.reason}")
            if node.source:
                lines.append(f"{pad}           calls beneath it predicted from {node.source}")
    return lines


@dataclass
class PlanGraph:
    """The plan in the shape ``bridge.viz.to_dot`` draws: jobs and dataflow edges."""

    jobs: list[dict]
    edges: list[DataflowEdge]


def plan_graph(roots: list[PlanNode]) -> PlanGraph:
    nodes = all_nodes(roots)
    ids = {node: f"call{index}" for index, node in enumerate(nodes)}
    jobs = [{"job_id": ids[node], "parent_id": ids.get(node.parent) if node.parent else None,
             "task_name": node.task_name, "status": node.status, "predicted": node.predicted,
             "label": f"{node.task_name}\n{node.status}" + (" (predicted)" if node.predicted
                                                             else "")}
            for node in nodes]
    edges = [DataflowEdge(ids[upstream], ids[node], argument, [], [])
             for node in nodes for upstream, argument in node.upstream]
    return PlanGraph(jobs, edges)
