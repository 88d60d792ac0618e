"""Tests of workflow.py with bridge's pytest `scheduler` fixture (no conftest.py)."""

import pytest
from workflow import add, add4, bodies, divide, main, on_batch

from bridge import task
from bridge.executors.local import LocalExecutor
from bridge.pytest import Scheduler
from bridge.task import get_task_registry


def test_main(scheduler: Scheduler) -> None:
    assert scheduler.run(main(1)) == 6
    assert scheduler.run(main(2)) == 9


def test_each_test_has_an_empty_store(scheduler: Scheduler) -> None:
    bodies.clear()
    assert scheduler.run(add(1, 1)) == 2
    assert bodies == ["add"]  # not a cache hit from test_main's run


def test_failure(scheduler: Scheduler) -> None:
    with pytest.raises(ZeroDivisionError):
        scheduler.run(divide(4, 0))


def test_the_expression_a_body_returns() -> None:
    tree = add4.func(1, 2, 3, 4)
    assert tree.task_name == "redun_style.testing.add"
    left, right = tree.args
    assert (left.task_name, left.args, right.args) == ("redun_style.testing.add", (1, 2), (3, 4))


def test_a_local_executor_stands_in_for_batch(scheduler: Scheduler) -> None:
    scheduler.add_executor(LocalExecutor("batch"))
    assert scheduler.run(on_batch(10)) == 11
    with pytest.raises(ZeroDivisionError):
        scheduler.run(divide(1, 0))
    assert scheduler.run(on_batch(11)) == 12  # still there after a failed run


def test_a_task_defined_in_a_test(scheduler: Scheduler) -> None:
    @task()
    def helper_only_here(x: int) -> int:
        return x * 3

    assert scheduler.run(helper_only_here(2)) == 6


def test_the_registry_forgets_tasks_of_other_tests(scheduler: Scheduler) -> None:
    assert get_task_registry().get("helper_only_here") is None
    assert get_task_registry().get("redun_style.testing.add") is add
