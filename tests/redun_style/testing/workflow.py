"""A workflow with a test suite (test_workflow.py), as redun's testing example has."""

from bridge import task

redun_namespace = "redun_style.testing"
bodies: list[str] = []


@task()
def add(a: int, b: int) -> int:
    bodies.append("add")
    return a + b


@task()
def add4(a: int, b: int, c: int, d: int) -> int:
    return add(add(a, b), add(c, d))


@task()
def divide(a: float, b: float) -> float:
    return a / b


@task(executor="batch")
def on_batch(x: int) -> int:
    return x + 1


@task()
def main(x: int) -> int:
    return add4(add(x, x), x, 1, 2)
