"""Higher-order tasks: a task passed as an argument (and a partial one) to a reducing
task that calls it."""

from ranlog import ran

from bridge import task
from bridge.task import Task

redun_namespace = "redun_style.higher_order"


@task()
def plus(a: int, b: int) -> int:
    ran("plus")
    return a + b


@task()
def multiply(a: int, b: int) -> int:
    ran("multiply")
    return a * b


@task()
def plus_offset(a: int, b: int, offset: int) -> int:
    ran("plus_offset")
    return a + b + offset


@task()
def reduce_with(combine: Task, items: list) -> int:
    ran("reduce_with")
    if len(items) == 1:
        return items[0]
    middle = len(items) // 2
    return combine(reduce_with(combine, items[:middle]), reduce_with(combine, items[middle:]))


@task()
def main() -> dict:
    ran("main")
    items = [1, 2, 3, 4, 5, 6]
    return {
        "sum": reduce_with(plus, items),
        "product": reduce_with(multiply, items),
        "offset_sum": reduce_with(plus_offset.partial(offset=1), items),
    }
