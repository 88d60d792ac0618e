"""The benchmark workflows on redun 0.44 (runs in .bench-venv). Parallel to workflows_bridge.py."""

import logging

from redun import File, Scheduler, task
from redun.config import Config

logging.getLogger("redun").setLevel(logging.WARNING)


@task()
def add_one(x: int) -> int:
    return x + 1


@task()
def fanout(n: int) -> list[int]:
    return [add_one(i) for i in range(n)]


@task()
def fanout_bump(n: int, bump: int) -> list[int]:
    """The fan-out with leaf 0 given `bump`: change it, and n - 1 leaves are cache hits."""
    return [add_one(i + bump if i == 0 else i) for i in range(n)]


@task()
def chain(n: int) -> int:
    return n if n == 0 else chain(n - 1)


FILE_LEAF_RUNS: list[int] = []  # file_leaf bodies run in this process (none in a replay)


@task()
def file_leaf(file: File, i: int) -> int:
    FILE_LEAF_RUNS.append(i)
    return i


@task()
def file_fanout(n: int, folder: str, files: int) -> list[int]:
    """n leaves, leaf i taking File(folder/<i % files>.txt): `files` distinct files."""
    return [file_leaf(File(f"{folder}/{i % files}.txt"), i) for i in range(n)]


def make_scheduler(db_path: str) -> Scheduler:
    scheduler = Scheduler(config=Config({"backend": {"db_uri": f"sqlite:///{db_path}"}}))
    scheduler.load()
    return scheduler


def sql_engine(scheduler: Scheduler):
    """The SQLAlchemy engine of a loaded scheduler, for counting statements."""
    return scheduler.backend.engine
