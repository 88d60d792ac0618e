"""Tasks in worker processes with no config: `@task(executor="process")`, or
`.options(executor="process")` at the call; the others run on threads of the bridge
process. Each result carries the id of the process its body ran in."""

import os

from bridge import task

redun_namespace = "redun_style.multiprocess"


def ran(name: str) -> None:
    with open("ran.log", "a") as log:
        log.write(name + "\n")


@task(executor="process")
def cube(x: int) -> tuple[int, int]:
    ran(f"cube:{x}")
    return os.getpid(), x ** 3


@task()
def halve(x: int) -> tuple[int, int]:
    ran(f"halve:{x}")
    return os.getpid(), x // 2


@task()
def main(n: int = 3) -> dict:
    ran("main")
    return {
        "main": os.getpid(),
        "cube": [cube(i) for i in range(n)],
        "halve": [halve(i) for i in range(n)],
        "halve_in_process": [halve.options(executor="process")(100 + i) for i in range(n)],
    }
