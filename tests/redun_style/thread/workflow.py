"""fork_thread and join_thread: one task forks a computation, another joins it."""

from bridge import task
from bridge.scheduler import fork_thread, join_thread

redun_namespace = "redun_style.thread"


def ran(name: str) -> None:
    with open("ran.log", "a") as log:
        log.write(name + "\n")


@task
def triple(x: int) -> int:
    ran("triple")
    return 3 * x


@task
def start(x: int):
    ran("start")
    return fork_thread(triple(x))


@task
def finish(thread):
    ran("finish")
    return join_thread(thread)


@task
def main(x: int = 7):
    ran("main")
    return finish(start(x))
