"""Tasks, expressions and the scheduler's reduction, through the public API."""

from __future__ import annotations

import gc
import random
import threading
import time
from collections import Counter

import pytest

from bridge import Expression, Scheduler, task
from bridge.native.task import TaskError, namespace

calls: Counter = Counter()
calls_lock = threading.Lock()


def count(name: str) -> None:
    with calls_lock:
        calls[name] += 1


@task()
def basics_add(a: int, b: int) -> int:
    count("add")
    return a + b


@task()
def basics_pair(x: int) -> dict:
    return {"value": x, "double": basics_add(x, x)}


@task()
def basics_sum(values: list) -> int:
    return sum(values)


@task()
def basics_fanout(n: int) -> int:
    return basics_sum([basics_add(i, 1) for i in range(n)])


@task()
def basics_countdown(n: int) -> int:
    return n if n == 0 else basics_countdown(n - 1)


class Point:
    def __init__(self, x: int) -> None:
        self.x = x


@task()
def basics_point(x: int) -> Point:
    return Point(x)


def test_calling_a_task_is_lazy(scheduler: Scheduler) -> None:
    before = calls["add"]
    expr = basics_add(1, 2)
    assert isinstance(expr, Expression)
    assert calls["add"] == before
    assert scheduler.run(expr) == 3


def test_nested_containers_of_expressions_are_reduced(scheduler: Scheduler) -> None:
    value = {"a": [basics_add(1, 1), (basics_add(2, 2), "x")], "b": basics_pair(3)}
    assert scheduler.run(value) == {"a": [2, (4, "x")], "b": {"value": 3, "double": 6}}


def test_getitem_getattr_and_operators_are_lazy(scheduler: Scheduler) -> None:
    pair = basics_pair(5)
    assert scheduler.run(pair["double"] + 1) == 11
    assert scheduler.run(basics_point(7).x * 2) == 14
    assert scheduler.run(basics_add(1, 1) < basics_add(2, 2)) is True
    assert scheduler.run(-basics_add(1, 1)) == -2
    assert scheduler.run(10 - basics_add(1, 1)) == 8


def test_parent_tasks_finish_when_their_returned_expression_is_reduced(
    scheduler: Scheduler,
) -> None:
    assert scheduler.run(basics_fanout(50)) == sum(range(1, 51))


def test_recursive_chain_of_depth_1000(scheduler: Scheduler) -> None:
    assert scheduler.run(basics_countdown(1000)) == 0


def test_a_run_leaves_nothing_frozen_from_the_collector(scheduler: Scheduler) -> None:
    """A run keeps the garbage collector off what lives as long as it does (gc.freeze),
    from its first call; whether it succeeds or fails, the process gets it all back."""
    assert scheduler.run(basics_add(1, 2)) == 3
    assert gc.get_freeze_count() == 0
    with pytest.raises(TypeError):
        scheduler.run(basics_add(1, "x"))
    assert gc.get_freeze_count() == 0


def test_identical_calls_run_once_per_execution(scheduler: Scheduler) -> None:
    before = calls["add"]
    # 30 identical calls, all in flight together, plus one distinct call.
    result = scheduler.run([basics_add(100, 200) for _ in range(30)] + [basics_add(1, 200)])
    assert result == [300] * 30 + [201]
    assert calls["add"] - before == 2


@task()
def basics_slow_square(x: int) -> int:
    count("slow_square")
    time.sleep(0.3)
    return x * x


@task()
def basics_late_parent(x: int) -> int:
    time.sleep(0.1)  # the identical call from the other branch is RUNNING by now
    return basics_slow_square(x)


@task()
def basics_after(done: int, x: int) -> int:
    return basics_slow_square(x) + done  # the identical call is DONE by now


def test_an_identical_call_from_another_parent_joins_the_one_in_flight_or_done(
    scheduler: Scheduler,
) -> None:
    before = calls["slow_square"]
    result = scheduler.run(
        [basics_slow_square(7), basics_late_parent(7), basics_after(basics_slow_square(7), 7)])
    assert result == [49, 49, 98]
    assert calls["slow_square"] - before == 1


@task()
def basics_seeded(i: int) -> int:
    random.seed(0)  # a common idiom in a body: it must not touch bridge's job ids
    return basics_add(i, random.randint(0, 0))


def test_bodies_seeding_random_do_not_make_job_ids_collide(scheduler: Scheduler) -> None:
    result = scheduler.run(basics_sum([basics_seeded(i) for i in range(200)]))
    assert result == sum(range(200))
    execution = scheduler.store.find_executions(limit=1)[0]
    ids = [job["job_id"] for job in scheduler.store.execution_graph(execution["execution_id"]).jobs]
    assert len(ids) == 401 and len(set(ids)) == 401  # sum, 200 seeded, 200 adds


def test_truth_testing_an_expression_is_refused() -> None:
    with pytest.raises(TypeError, match="cond"):
        bool(basics_add(1, 2))


@task()
def basics_name(i: int) -> str:
    return f"s{i}"


@task()
def basics_path(i: int) -> str:
    return f"out/{basics_name(i)}.txt"  # the name is lazy here: a mistake


def test_formatting_an_expression_into_text_is_refused(scheduler: Scheduler) -> None:
    """An f-string of a lazy call in a body would write the call's text (a wrong file
    name, a wrong cached result): the body fails instead, and says what to do."""
    with pytest.raises(TypeError, match=r"basics_name\(1\) is lazy and has no text yet.*"
                                        "inside a task that receives the evaluated value"):
        scheduler.run(basics_path(1))
    assert f"{basics_name(1)!r}" == f"{basics_name.fullname}(1)"


def test_two_tasks_with_one_name_clash_with_a_clear_error() -> None:
    def first(x: int) -> int:
        return x

    task(name="clash_example")(first)

    def second(x: int) -> int:
        return x

    with pytest.raises(TaskError, match=r"two tasks are named 'clash_example'.*namespace"):
        task(name="clash_example")(second)


def test_namespaces_tell_tasks_apart() -> None:
    with namespace("ns_one"):
        @task(name="same_name")
        def one() -> int:
            return 1

    with namespace("ns_two"):
        @task(name="same_name")
        def two() -> int:
            return 2

    assert one.fullname == "ns_one.same_name"
    assert two.fullname == "ns_two.same_name"
    assert one.hash != two.hash


@task(limits=["basics_slots"])
def basics_limited(i: int) -> int:
    with running_lock:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
    time.sleep(0.02)
    with running_lock:
        running[0] -= 1
    return i


running = [0]
peak = [0]
running_lock = threading.Lock()


def test_limits_cap_how_many_calls_run_at_once(workdir) -> None:
    scheduler = Scheduler(config={"limits": {"basics_slots": 2}})
    peak[0] = 0
    assert scheduler.run([basics_limited(i) for i in range(12)]) == list(range(12))
    assert peak[0] == 2


def test_limits_given_as_counts_and_at_the_call_site(workdir) -> None:
    # 4 calls at once need 4 cores' worth of local executor, whatever the machine has
    scheduler = Scheduler(config={"limits": {"basics_slots": 4},
                                  "executors": {"default": {"type": "local", "cores": 4}}})
    peak[0] = 0
    assert scheduler.run([basics_limited(i) for i in range(100, 112)]) == list(range(100, 112))
    assert peak[0] == 4
    peak[0] = 0
    two_slots_each = basics_limited.options(limits={"basics_slots": 2})
    assert scheduler.run([two_slots_each(i) for i in range(200, 212)]) == list(range(200, 212))
    assert peak[0] == 2


def test_limits_that_can_never_be_met_fail_with_the_task_named(workdir) -> None:
    scheduler = Scheduler(config={"limits": {"basics_slots": 1}})
    greedy = basics_limited.options(limits={"basics_slots": 3})
    with pytest.raises(Exception, match=r"basics_limited.*never available"):
        scheduler.run(greedy(300))


attempts: Counter = Counter()


@task(retries=2, cache=False)
def basics_flaky(key: str, failures: int) -> str:
    attempts[key] += 1
    if attempts[key] <= failures:
        raise ConnectionError(f"attempt {attempts[key]} failed")
    return "ok"


def test_retries_rerun_a_failing_call(scheduler: Scheduler) -> None:
    assert scheduler.run(basics_flaky("twice", 2)) == "ok"
    assert attempts["twice"] == 3
    with pytest.raises(ConnectionError, match="attempt 3 failed"):
        scheduler.run(basics_flaky("thrice", 3))


def test_call_site_options_override_task_options(scheduler: Scheduler) -> None:
    with pytest.raises(ConnectionError):
        scheduler.run(basics_flaky.options(retries=0)("once", 1))
    assert attempts["once"] == 1


def test_import_bridge_loads_no_heavy_dependency() -> None:
    import subprocess
    import sys

    heavy = ("sqlalchemy", "pydantic", "boto3", "docker", "prefect", "airflow", "rich")
    code = f"import sys, bridge; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@task()
def basics_pick_function(name: str) -> object:
    return {"len": len, "sorted": sorted}[name]


def test_calling_a_lazy_value_is_lazy_too(scheduler: Scheduler) -> None:
    assert scheduler.run(basics_pick_function("len")([1, 2, 3])) == 3
    doubled = basics_pair(3)["double"]  # 6
    assert scheduler.run(basics_pick_function("sorted")(doubled * [1, 0])) == [0] * 6 + [1] * 6


NESTED_TASKS = '''
import contextlib
from bridge import task

class Steps:
    @task(namespace="nested_defs")
    def in_class(x: int) -> int:
        return x + 1

if True:
    @task(namespace="nested_defs")
    def in_if(x: int) -> int:
        return x + 2

try:
    raise ValueError
except ValueError:
    @task(namespace="nested_defs")
    def in_except(x: int) -> int:
        return x + 3

with contextlib.nullcontext():
    @task(namespace="nested_defs")
    def in_with(x: int) -> int:
        return x + 4

match 1:
    case 1:
        @task(namespace="nested_defs")
        def in_case(x: int) -> int:
            return x + 5

def factory():
    @task(namespace="nested_defs")
    def in_function(x: int) -> int:
        return x + 6
    return in_function

made = factory()
'''


def test_tasks_defined_inside_blocks_hash_their_own_source(tmp_path, monkeypatch) -> None:
    """A task defined in a class, an if, an except, a with, a match case or another
    function is hashed by its own source (editing it re-runs it), not by bytecode."""
    (tmp_path / "nested_tasks.py").write_text(NESTED_TASKS)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = __import__("nested_tasks")
    found = [module.Steps.in_class, module.in_if, module.in_except, module.in_with,
             module.in_case, module.made]
    for defined, offset in zip(found, range(1, 7), strict=True):
        assert defined.source.startswith(f"def {defined.name}(x: int) -> int:")
        assert defined.source.endswith(f"return x + {offset}")
