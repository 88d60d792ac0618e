"""Coming from redun: the small public-API touches its users rely on: expressions that
show their calls as Python writes them, option lookups on ``task.options(...)``, and
``@task(source=...)`` with ``Task.get_hash()``, and options exported to the calls beneath."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bridge import Scheduler, cond, task
from bridge.config import Config, ConfigError
from bridge.scheduler import DryRunResult, JobInfo


@task
def add(a, b):
    return a + b


@task(executor="threads")
def on_threads(x):
    return x


def test_an_expression_shows_its_calls_and_arguments_as_python_does() -> None:
    name = add.fullname
    assert repr(add(1, b=2)) == f"{name}(1, b=2)"
    assert repr(add(b="2", a=True)) == f"{name}(a=True, b='2')"  # keywords sorted
    assert repr(add(add(1, 2), [4])) == f"{name}({name}(1, 2), [4])"
    call = repr(add(1, 2))
    assert repr(add(1, 2) + 3 + 4) == f"(({call} + 3) + 4)"
    assert repr(3 - add(1, 2)) == f"(3 - {call})"
    assert repr(add(1, 2) == 3) == f"({call} == 3)"
    assert repr(-add(1, 2)) == f"-{call}"
    assert repr(add(1, 2)["key"]) == f"{call}['key']"
    assert repr(add(1, 2)[1:3]) == f"[{call}[1], {call}[2]]"  # a list of items, as in redun
    assert repr(add(1, 2)[2:]) == f"{call}[2:]"  # an open end: one lazy slice
    assert repr(add(1, 2).attr.func(1, k=2)) == f"{call}.attr.func(1, k=2)"
    assert repr(cond(add(1, 2), 1, 2)) == f"cond({call}, 1, 2)"


@task
def numbers():
    return [10, 20, 30, 40]


@task
def doubled_slices():
    firsts = [n * 2 for n in numbers()[0:2]]  # a fixed slice is a list: it iterates
    return [firsts, numbers()[:4:2], numbers()[2:], numbers()[-1:]]


def test_a_slice_with_fixed_bounds_is_a_list_of_lazy_items(scheduler: Scheduler) -> None:
    assert len(numbers()[1:3]) == 2
    assert scheduler.run(doubled_slices()) == [[20, 40], [10, 30], [30, 40], [40]]


def test_options_of_a_call_site_are_looked_up_as_on_the_task() -> None:
    assert on_threads.has_task_option("executor") and not on_threads.has_task_option("memory")
    local = on_threads.options(executor="local")
    assert local.has_task_option("executor") and local.get_task_option("executor") == "local"
    assert local.get_task_option("memory", 1000) == 1000
    both = local.options(memory=4)
    assert both.get_task_options() == {"executor": "local", "memory": 4}
    assert both.get_task_option("memory", 1000) == 4
    assert both(1)._options == {"executor": "local", "memory": 4}
    # the rest is the task's own, as on the Task redun's options() returns
    assert both.fullname == on_threads.fullname and both.func is on_threads.func
    assert on_threads.update_context(x=1).get_task_options() == {"executor": "threads"}


def test_source_given_to_a_task_is_what_its_hash_and_cache_follow(scheduler: Scheduler) -> None:
    runs = []

    def define(source: str):
        @task(name="generated", source=source)
        def generated(x):
            runs.append(x)
            return x

        return generated

    first = define("v1")
    assert first.source == "v1" and first.get_hash() == first.hash
    assert define("v1").get_hash() == first.get_hash()
    assert define("v2").get_hash() != first.get_hash()
    assert scheduler.run(define("v1")(5)) == 5
    assert scheduler.run(define("v1")(5)) == 5
    assert runs == [5]  # same source: cached
    assert scheduler.run(define("v2")(5)) == 5
    assert runs == [5, 5]  # new source: runs again


@task
def read_option(job_info: JobInfo = JobInfo()):
    return job_info.options.get("my_option")


@task
def middle():
    return read_option()


@task(export_options={"my_option": 2})
def exports_two():
    return middle()


@task
def exports_inside():
    return read_option.export_options(my_option=3)()


@task
def sets_inside():
    return read_option.options(my_option=4)()


def test_exported_options_reach_every_call_beneath(scheduler: Scheduler) -> None:
    assert scheduler.run(middle(), cache=False) is None  # nothing exported: no option
    assert scheduler.run(exports_two(), cache=False) == 2  # from the task's definition
    assert scheduler.run(middle.export_options(my_option=1)(), cache=False) == 1
    # the call site's export beats the definition's; a nearer one beats a farther one
    assert scheduler.run(exports_two.export_options(my_option=5)(), cache=False) == 5
    assert scheduler.run(exports_inside.export_options(my_option=1)(), cache=False) == 3
    assert scheduler.run(sets_inside.export_options(my_option=1)(), cache=False) == 4
    partial = middle.partial().export_options(my_option=6)
    assert scheduler.run(partial(), cache=False) == 6
    # an exported option is not one of the executor's own
    assert middle.export_options(my_option=1).get_task_options() == {"my_option": 1}
    assert partial.get_task_options() == {"my_option": 6}


LEAF_RUNS: list[int] = []


@task
def counted_leaf(x: int) -> int:
    LEAF_RUNS.append(x)
    return x + 1


@task
def counted_fan(n: int) -> list:
    return [counted_leaf(i) for i in range(n)]


def test_an_in_memory_store_caches_for_its_scheduler_only(workdir: Path) -> None:
    """``Scheduler(db_uri="sqlite:///:memory:")``, the throwaway store the redun guide
    names: its rows (JSON columns among them) are written, a second run of the same
    scheduler replays from them, and a new scheduler starts with nothing."""
    LEAF_RUNS.clear()
    throwaway = Scheduler(db_uri="sqlite:///:memory:")
    assert throwaway.run(counted_fan(3)) == [1, 2, 3]
    assert throwaway.run(counted_fan(4)) == [1, 2, 3, 4]
    assert LEAF_RUNS == [0, 1, 2, 3]
    assert Scheduler(db_uri="sqlite:///:memory:").run(counted_fan(2)) == [1, 2]
    assert LEAF_RUNS == [0, 1, 2, 3, 0, 1]
    assert not (workdir / ".bridge" / "bridge.db").exists()


@task
def body_pid() -> int:
    return os.getpid()


def test_a_config_dict_takes_section_names_and_redun_spellings(workdir: Path) -> None:
    """``Config({...})`` as redun's scripts and tests write it: bridge.ini's section names
    as keys, redun's ``mode = process``; a redun-only key gets the hint bridge.ini gives."""
    config = Config({"executors.default": {"type": "local", "mode": "process"}})
    with Scheduler(config=config) as scheduler:
        assert scheduler.run(body_pid()) != os.getpid()
    with pytest.raises(ConfigError, match=r"Config\(\.\.\.\): \[scheduler\] ignore_warnings: "
                                          r"unknown key \(a redun key"):
        Scheduler(config={"scheduler": {"ignore_warnings": "bridge.Warning"}})


def test_run_with_dryrun_runs_nothing_and_returns_a_fully_cached_value(
        scheduler: Scheduler) -> None:
    """redun's ``scheduler.run(expr, dryrun=True)``: calls that would run raise
    DryRunResult (its message says which and why) and run nothing; once every call is
    cached, the dry run returns the value."""
    LEAF_RUNS.clear()
    with pytest.raises(DryRunResult, match=r"WOULD RUN  .*counted_fan") as would:
        scheduler.run(counted_fan(2), dryrun=True)
    assert [job.task.fullname for job in would.value.would_run] == [counted_fan.fullname]
    assert LEAF_RUNS == []
    assert scheduler.run(counted_fan(2)) == [1, 2]
    assert scheduler.run(counted_fan(2), dryrun=True) == [1, 2]
    with pytest.raises(DryRunResult, match="new argument values: n"):
        scheduler.run(counted_fan(3), dryrun=True)
    assert LEAF_RUNS == [0, 1]
