"""Reading a flow run back through Prefect's own client, for the adapter's tests."""

from __future__ import annotations

import re
import time
from typing import Any

FINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}
SETTLE_SECONDS = 120  # task-run states reach the API through Prefect's event pipeline


def flow_run_id(stderr: str) -> str:
    found = re.search(r"\[bridge\] Prefect flow run ([0-9a-f-]{36})", stderr)
    assert found, f"no flow run id in:\n{stderr[-3000:]}"
    return found.group(1)


def client(env: dict[str, str]) -> Any:
    """A sync Prefect client for the server in ``env``."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}):
        return get_client(sync_client=True)


def task_runs(env: dict[str, str], run_id: str, expected: int | None = None) -> list[Any]:
    """The flow run's task runs once all are in final states (and, given ``expected``,
    once that many have arrived)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + SETTLE_SECONDS
    with client(env) as api:
        while True:
            runs = api.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
            settled = all(run.state_type and run.state_type.value in FINAL for run in runs)
            if settled and (expected is None or len(runs) >= expected):
                return runs
            if time.monotonic() > deadline:
                states = [(run.name, run.state_name) for run in runs]
                raise AssertionError(f"task runs of {run_id} did not settle: {states}")
            time.sleep(0.5)


def task_name(run: Any) -> str:
    """The bridge task a task run stands for (its name reads ``task[hash](args)``)."""
    return run.name.split("[", 1)[0]


def states(runs: list[Any]) -> list[tuple[str, str]]:
    return sorted((task_name(run), run.state_name) for run in runs)


def flow_run(env: dict[str, str], run_id: str) -> Any:
    with client(env) as api:
        return api.read_flow_run(run_id)


def logs(env: dict[str, str], task_run_id: Any) -> list[str]:
    from prefect.client.schemas.filters import LogFilter, LogFilterTaskRunId

    deadline = time.monotonic() + SETTLE_SECONDS
    with client(env) as api:
        while True:
            found = api.read_logs(LogFilter(task_run_id=LogFilterTaskRunId(any_=[task_run_id])))
            if found or time.monotonic() > deadline:
                return [log.message for log in found]
            time.sleep(0.5)
