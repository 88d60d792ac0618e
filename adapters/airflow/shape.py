"""The shape of an exported DAG, from a recorded call tree.

A *position* is a path of task names from the top-level call. Every call recorded at one
position becomes one mapped Airflow task, whatever parent made it, so nested fan-outs
flatten and a wider input maps wider. A position whose calls made calls of their own is
a parent: a task group with a plan step, its child positions, and a finish step. Calls
of bridge's built-in tasks (``script()``, ``copy_file``, ...) stay inside their caller's
position: they hash with their caller, so they are evaluated with it; the calls beneath a
``catch`` (a built-in that only wraps them) take its place.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bridge.native.calltree import CallNode
from bridge.native.control import WRAPPER_TASKS


@dataclass
class Position:
    task_name: str  # the bridge task's full name
    executor: str  # the executor most calls recorded here used
    width: int  # distinct calls recorded here
    on_batch: bool = False  # its executor is of type aws_batch
    children: list[Position] = field(default_factory=list)
    # Sibling positions (by task name) whose results some of these calls take as
    # arguments: the Airflow edges between them.
    after: list[str] = field(default_factory=list)
    # The task or group id in Airflow: the task's name without its namespace, unless a
    # sibling has the same name (letters, digits, '_' and '-' only).
    node_id: str = ""

    @property
    def is_parent(self) -> bool:
        return bool(self.children)


def shape_of(root: CallNode, is_builtin: Callable[[str], bool],
             batch_executors: frozenset[str] = frozenset()) -> Position:
    """The positions of a call tree, from its top-level call; ``batch_executors`` are
    the names of the executors of type aws_batch."""
    position = _position(root.task_name, [root], is_builtin, batch_executors)
    _name_nodes([position])
    return position


def _name_nodes(siblings: list[Position]) -> None:
    short = Counter(_short(position.task_name) for position in siblings)
    for position in siblings:
        name = _short(position.task_name)
        position.node_id = re.sub(r"[^A-Za-z0-9_-]", "_",
                                  name if short[name] == 1 else position.task_name)
        _name_nodes(position.children)


def _short(task_name: str) -> str:
    return task_name.rpartition(".")[2]


def _position(task_name: str, calls: list[CallNode], is_builtin: Callable[[str], bool],
              batch_executors: frozenset[str]) -> Position:
    by_task: dict[str, dict[str, CallNode]] = {}
    for call in calls:
        for child in _visible_children(call, is_builtin):
            by_task.setdefault(child.task_name, {})[child.call_hash] = child
    children = [_position(name, list(members.values()), is_builtin, batch_executors)
                for name, members in by_task.items()]
    _add_edges(children, by_task)
    executor = Counter(call.executor for call in calls).most_common(1)[0][0]
    return Position(task_name, executor, len({call.call_hash for call in calls}),
                    executor in batch_executors, children)


def _visible_children(call: CallNode, is_builtin: Callable[[str], bool]) -> Iterator[CallNode]:
    """A call's children as a DAG shows them: built-in calls left out, a wrapper's children
    in its place."""
    for child in call.children:
        if child.task_name in WRAPPER_TASKS:
            yield from _visible_children(child, is_builtin)
        elif not is_builtin(child.task_name):
            yield child


def _add_edges(children: list[Position], by_task: dict[str, dict[str, CallNode]]) -> None:
    """Edges follow the recorded dataflow between sibling positions, less those implied
    by others (a >> b >> c makes a >> c redundant). Only edges from an earlier position
    to a later one (in the order their first calls started) are kept, so the DAG has no
    cycle; a call whose upstream sibling is not done yet computes it itself, through
    bridge, so a dropped edge costs order, never correctness."""
    order = {name: index for index, name in enumerate(by_task)}
    position_of = {call_hash: name for name, members in by_task.items()
                   for call_hash in members}
    direct = {}
    for name, members in by_task.items():
        upstream = {position_of[source] for call in members.values()
                    for source in call.upstream if source in position_of}
        direct[name] = {other for other in upstream if order[other] < order[name]}
    for child in children:
        implied = set().union(*(_ancestors(other, direct) for other in direct[child.task_name]))
        child.after = sorted(direct[child.task_name] - implied, key=order.get)


def _ancestors(name: str, direct: dict[str, set[str]]) -> set[str]:
    found, stack = set(), list(direct[name])
    while stack:
        other = stack.pop()
        if other not in found:
            found.add(other)
            stack.extend(direct[other])
    return found
