"""debug_task: a breakpoint in the dataflow, stopping in pdb with the value there."""

from ranlog import ran

from bridge import task
from bridge.tools import debug_task

redun_namespace = "redun_style.debugging"


@task()
def add(a: int, b: int) -> int:
    ran("add")
    return a + b


@task()
def main() -> int:
    ran("main")
    x = add(1, 2)
    x = add(x, 3)
    x = debug_task(x)
    return add(x, 4)
