"""The fan-out of bench_prefect.py, written for bridge (run in Prefect by the adapter) and
as plain Prefect tasks. Each leaf sleeps `seconds` (an I/O-bound step) and returns i*i;
both run their leaves on 20 threads (bridge's local default) and persist the flow's result
(as `flow_for` does, so `state.result()` works from the API)."""

from __future__ import annotations

import time

from prefect import flow, task, unmapped
from prefect.cache_policies import INPUTS, TASK_SOURCE
from prefect.task_runners import ThreadPoolTaskRunner

import bridge

THREADS = 20


@bridge.task()
def leaf(i: int, seconds: float) -> int:
    time.sleep(seconds)
    return i * i


@bridge.task()
def fan_out(n: int, seconds: float) -> list:
    return [leaf(i, seconds) for i in range(n)]


@task
def plain_leaf(i: int, seconds: float) -> int:
    time.sleep(seconds)
    return i * i


@flow(task_runner=ThreadPoolTaskRunner(max_workers=THREADS), persist_result=True)
def plain_fan_out(n: int, seconds: float) -> list:
    return [future.result() for future in plain_leaf.map(range(n), unmapped(seconds))]


cached_leaf = plain_leaf.with_options(cache_policy=INPUTS + TASK_SOURCE)


@flow(task_runner=ThreadPoolTaskRunner(max_workers=THREADS), persist_result=True)
def plain_cached_fan_out(n: int, seconds: float) -> list:
    """Plain Prefect with its own input cache: a re-run's leaves are cache hits."""
    return [future.result() for future in cached_leaf.map(range(n), unmapped(seconds))]
