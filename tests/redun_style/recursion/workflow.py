"""Recursion: a task whose body calls itself; equal calls run once per execution."""

from ranlog import ran

from bridge import task

redun_namespace = "redun_style.recursion"


@task()
def add(a: int, b: int) -> int:
    ran("add")
    return a + b


@task()
def fib(n: int) -> int:
    ran("fib")
    if n <= 1:
        return 1
    return add(fib(n - 1), fib(n - 2))
