"""bridge.functools as redun users use redun.functools: map_, starmap, flat_map,
partial application, compose, as_task/apply_func, delay/force, eval_, zip_, const."""

from ranlog import ran

from bridge import task
from bridge.functools import (
    apply_func,
    as_task,
    compose,
    const,
    delay,
    eval_,
    flat_map,
    force,
    identity,
    map_,
    starmap,
    zip_,
)
from bridge.task import Task

redun_namespace = "redun_style.functools"


@task()
def double(x: int) -> int:
    ran("double")
    return 2 * x


@task()
def add(a: int, b: int) -> int:
    ran("add")
    return a + b


@task()
def split(text: str) -> list:
    ran("split")
    return text.split()


@task()
def run_delayed(delayed: Task) -> int:
    ran("run_delayed")
    return force(delayed)


@task()
def main() -> dict:
    ran("main")
    values = [0, 1, 2, 3]
    words = flat_map(split, ["to be", "or not"])
    return {
        "doubled": map_(double, values),
        "sums": starmap(add, [{"a": 1, "b": 2}, {"a": 3, "b": 4}]),
        "words": words,
        "shifted": map_(add.partial(10), values),
        "double_then_shift": compose(add.partial(10), double)(4),
        "longest": as_task(max)(values),
        "count": apply_func(len, words),
        "delayed": run_delayed(delay(add(4, 5))),
        "tripled": map_(eval_.partial("x * 3", pos_args=["x"]), values),
        "pairs": zip_(values[:2], words),
        "kept": const(identity("first"), double(100)),
    }
