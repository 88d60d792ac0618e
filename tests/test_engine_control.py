"""Control flow: cond, catch, throw, seq, map_, flatten, const, eval_, apply_tags."""

from __future__ import annotations

import time
import warnings
from collections import Counter

import pytest
from sqlalchemy import select

from bridge import (
    Scheduler,
    apply_tags,
    catch,
    cond,
    const,
    eval_,
    flatten,
    map_,
    seq,
    task,
    throw,
)
from bridge.native import schema
from bridge.native.runner import UnreturnedExpressionWarning

ran: Counter = Counter()
order: list[str] = []


@task(cache=False)
def ctl_is_even(x: int) -> bool:
    return x % 2 == 0


@task(cache=False)
def ctl_branch(name: str) -> str:
    ran[name] += 1
    return name


@task(cache=False)
def ctl_fails(message: str) -> int:
    raise ValueError(message)


@task(cache=False)
def ctl_recover(error: Exception) -> str:
    return f"recovered from {error}"


@task(cache=False)
def ctl_parent_with_catch(message: str) -> str:
    return catch(ctl_fails(message), ValueError, ctl_recover)


@task(cache=False)
def ctl_step(name: str, delay: float) -> str:
    time.sleep(delay)
    order.append(name)
    return name


@task()
def ctl_double(x: int) -> int:
    return 2 * x


@task()
def ctl_range(n: int) -> list:
    return list(range(n))


def test_cond_runs_only_the_branch_taken(scheduler: Scheduler) -> None:
    ran.clear()
    assert scheduler.run(cond(ctl_is_even(2), ctl_branch("then"), ctl_branch("else"))) == "then"
    assert ran == {"then": 1}
    assert scheduler.run(cond(ctl_is_even(3), ctl_branch("then"), ctl_branch("else"))) == "else"
    assert ran == {"then": 1, "else": 1}
    chained = cond(ctl_is_even(3), ctl_branch("a"), ctl_is_even(4), ctl_branch("b"),
                   ctl_branch("c"))
    assert scheduler.run(chained) == "b"
    assert "a" not in ran and "c" not in ran


def test_catch_recovers_from_an_exception_raised_in_a_sub_task(scheduler: Scheduler) -> None:
    assert scheduler.run(ctl_parent_with_catch("boom")) == "recovered from boom"


def test_catch_passes_on_errors_it_does_not_handle(scheduler: Scheduler) -> None:
    with pytest.raises(ValueError, match="not mine"):
        scheduler.run(catch(ctl_fails("not mine"), KeyError, ctl_recover))


def test_throw_raises_when_evaluated(scheduler: Scheduler) -> None:
    with pytest.raises(RuntimeError, match="stop here"):
        scheduler.run(throw(RuntimeError("stop here")))
    recovered = catch(throw(KeyError("k")), KeyError, lambda error: "caught")
    assert scheduler.run(recovered) == "caught"


def test_seq_evaluates_in_order(scheduler: Scheduler) -> None:
    order.clear()
    result = scheduler.run(seq([ctl_step("slow", 0.1), ctl_step("fast", 0.0)]))
    assert result == ["slow", "fast"]
    assert order == ["slow", "fast"]


def test_map_flatten_const_and_eval(scheduler: Scheduler) -> None:
    assert scheduler.run(map_(ctl_double, ctl_range(4))) == [0, 2, 4, 6]
    assert scheduler.run(flatten([ctl_range(2), ctl_range(3)])) == [0, 1, 0, 1, 2]
    order.clear()
    assert scheduler.run(const(ctl_double(5), ctl_step("first", 0.0))) == 10
    assert order == ["first"]
    assert scheduler.run(eval_("a * b + 1", a=ctl_double(2), b=3)) == 13


@task(cache=False)
def ctl_tags_itself(x: int) -> int:
    return apply_tags(ctl_double(x), job_tags={"sample": f"s{x}"})


def test_apply_tags_records_tags(scheduler: Scheduler) -> None:
    result = scheduler.run(apply_tags(ctl_double(21), tags={"stage": "final"},
                                      execution_tags={"project": "demo"}))
    assert result == 42
    assert scheduler.run(ctl_tags_itself(4)) == 8
    with scheduler.store.engine.connect() as conn:
        rows = {(r.entity_kind, r.key, r.value) for r in conn.execute(select(schema.tags))}
    assert ("value", "stage", "final") in rows
    assert ("execution", "project", "demo") in rows
    assert ("job", "sample", "s4") in rows  # the job of ctl_tags_itself


@task(cache=False)
def ctl_middle(message: str) -> int:
    return ctl_fails(message) + 1


@task(cache=False)
def ctl_catches_a_grandchild(message: str) -> str:
    return catch(ctl_middle(message), ValueError, ctl_recover)


def test_catch_recovers_from_a_failure_deeper_down(scheduler: Scheduler) -> None:
    assert scheduler.run(ctl_catches_a_grandchild("deep")) == "recovered from deep"
    execution = scheduler.store.find_executions(limit=1)[0]
    assert execution["status"] == "DONE"


@task(cache=False)
def ctl_forgets(x: int) -> int:
    ctl_double(x)  # built and dropped: a likely mistake
    return x


def test_expressions_built_and_not_returned_warn(scheduler: Scheduler) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert scheduler.run(ctl_forgets(3)) == 3
    found = [w for w in caught if w.category is UnreturnedExpressionWarning]
    assert found and "ctl_forgets" in str(found[0].message) and "ctl_double" in str(
        found[0].message)
    # shown where the task is written, not where the scheduler noticed
    assert (found[0].filename, found[0].lineno) == (
        __file__, ctl_forgets.func.__code__.co_firstlineno)


@task(cache=False)
def ctl_returns_everything(x: int) -> dict:
    doubled = ctl_double(x)
    branch = cond(ctl_is_even(x), ctl_branch("even-ok"), ctl_branch("odd-ok"))
    safe = catch(ctl_fails("no"), ValueError, ctl_recover)
    return {"nested": [doubled, {"deeper": (doubled + 1,)}], "branch": branch, "safe": safe}


def test_returned_expressions_do_not_warn(scheduler: Scheduler) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = scheduler.run(ctl_returns_everything(2))
    assert result == {"nested": [4, {"deeper": (5,)}], "branch": "even-ok",
                      "safe": "recovered from no"}
    assert not [w for w in caught if w.category is UnreturnedExpressionWarning]
