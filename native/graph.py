"""An execution's call graph as inspection sees it (`Record.execution_graph`): its jobs,
the calls and values they name, and the dataflow edges between jobs. Apart from
`record.py`, so that a run, which never draws a graph, does not define these classes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any


@dataclass
class DataflowEdge:
    """An argument of `to_job` that came from the result of `from_job` (at `path`)."""

    from_job: str
    to_job: str
    argument: str
    subpath: list
    path: list


@dataclass
class ExecutionGraph:
    """The indexes (``by_id``, ``by_call``, ``children``) are built on first use, and
    built again after ``jobs`` is replaced (as shown_jobs's caller does)."""

    execution_id: str
    jobs: list[dict]
    calls: dict[str, dict]
    values: dict[str, dict]

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "jobs":
            for index in ("by_id", "by_call", "_children"):
                self.__dict__.pop(index, None)

    @property
    def edges(self) -> list[DataflowEdge]:
        producer = self.by_call
        edges = []
        for job in self.jobs:
            for arg in job["arguments"]:
                for subpath, call_hash, path in arg["sources"]:
                    if call_hash in producer:
                        edges.append(
                            DataflowEdge(producer[call_hash]["job_id"], job["job_id"], arg["name"],
                                         subpath, path)
                        )
        return edges

    @cached_property
    def by_id(self) -> dict[str, dict]:
        return {job["job_id"]: job for job in self.jobs}

    @cached_property
    def by_call(self) -> dict[str, dict]:
        """The first job (in start order) of each call hash: the one that made its result."""
        first: dict[str, dict] = {}
        for job in self.jobs:
            first.setdefault(job["call_hash"], job)
        return first

    def children(self, job_id: str | None) -> list[dict]:
        return self._children.get(job_id, [])

    @cached_property
    def _children(self) -> dict[str | None, list[dict]]:
        by_parent: dict[str | None, list[dict]] = {}
        for job in self.jobs:
            by_parent.setdefault(job["parent_id"], []).append(job)
        return by_parent
