"""What every executor takes and reports, so the scheduler never knows which ran a job."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge.native.runner import Outcome


@dataclass(slots=True)
class Work:
    """One call to run: the task, its evaluated arguments, and its resolved options.

    ``call_hash`` is the scheduler's hash of the call (executors name folders and jobs by
    it, so a restarted run finds them again); ``is_script`` marks a ``script()`` call,
    which container executors run as a plain bash script with no bridge inside.
    ``retries`` is how many times the call may be retried after a failure: an executor
    that retries by itself reports how many it made (``Outcome.retried``)."""

    job_id: str
    task: Any
    args: tuple
    kwargs: dict
    options: dict
    call_hash: str
    is_script: bool
    retries: int = 0

    def body_kwargs(self) -> dict:
        """The keyword arguments to run the body with, where it runs in this process or
        a worker process: a ``script()`` body also gets the call's options, from which
        its script exports its share (``$BRIDGE_CPUS``)."""
        return {**self.kwargs, "options": self.options} if self.is_script else self.kwargs


Report = Callable[[Outcome], None]


class Executor(ABC):
    """Runs Work and reports each Outcome through `report` (from any thread)."""

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        self.name = name
        self.options = options

    @abstractmethod
    def start(self, report: Report) -> None: ...

    @abstractmethod
    def submit(self, work: Work) -> None: ...

    @abstractmethod
    def cancel_pending(self) -> list[str]:
        """Withdraw work not yet started; returns the withdrawn job ids."""

    @abstractmethod
    def stop(self) -> None:
        """Release workers, when the scheduler closes or an execution is interrupted
        (Ctrl+C, or a fault in bridge). An execution ends only when its running work has
        ended, so work still running now was interrupted: stop it (kill its processes,
        containers or jobs). The scheduler starts a fresh executor for its next run."""
