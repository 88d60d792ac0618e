"""The benchmark workflows on redun 0.44 (runs in .bench-venv). Parallel to workflows_bridge.py."""

import logging

from redun import Scheduler, task
from redun.config import Config

logging.getLogger("redun").setLevel(logging.WARNING)


@task()
def add_one(x: int) -> int:
    return x + 1


@task()
def fanout(n: int) -> list[int]:
    return [add_one(i) for i in range(n)]


@task()
def chain(n: int) -> int:
    return n if n == 0 else chain(n - 1)


def make_scheduler(db_path: str) -> Scheduler:
    scheduler = Scheduler(config=Config({"backend": {"db_uri": f"sqlite:///{db_path}"}}))
    scheduler.load()
    return scheduler
