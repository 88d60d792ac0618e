"""An execution's call graph as inspection sees it (`Record.execution_graph`): its jobs,
the calls and values they name, and the dataflow edges between jobs. Apart from
`record.py`, so that a run, which never draws a graph, does not define these classes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property


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
    execution_id: str
    jobs: list[dict]
    calls: dict[str, dict]
    values: dict[str, dict]

    @property
    def edges(self) -> list[DataflowEdge]:
        producer = {}
        for job in self.jobs:
            producer.setdefault(job["call_hash"], job["job_id"])
        edges = []
        for job in self.jobs:
            for arg in job["arguments"]:
                for subpath, call_hash, path in arg["sources"]:
                    if call_hash in producer:
                        edges.append(
                            DataflowEdge(producer[call_hash], job["job_id"], arg["name"],
                                         subpath, path)
                        )
        return edges

    def children(self, job_id: str | None) -> list[dict]:
        return self._children.get(job_id, [])

    @cached_property
    def _children(self) -> dict[str | None, list[dict]]:
        by_parent: dict[str | None, list[dict]] = {}
        for job in self.jobs:
            by_parent.setdefault(job["parent_id"], []).append(job)
        return by_parent
