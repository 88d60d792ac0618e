"""The benchmark workflows on bridge (runs in .venv). Parallel to workflows_redun.py."""

from bridge import Scheduler, task


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
    scheduler = Scheduler(db_uri=f"sqlite:///{db_path}")
    scheduler.store  # noqa: B018  open the store now, as redun's `load()` does, so it goes untimed
    return scheduler
