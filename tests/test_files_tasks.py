"""glob_file, copy_file and copy_dir across local and S3 storage, and large values
through the value store (a folder beside the database, or an S3 prefix)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3

from bridge import Dir, File, copy_dir, copy_file, glob_file, task
from bridge.native.scheduler import Scheduler
from bridge.native.settings import SchedulerSettings

# Tasks of this module get their own names, apart from other tests' workflows.
bridge_namespace = "tests_files_tasks"


def test_glob_file_local_and_s3(scheduler: Any, workdir: Path, s3_bucket: str) -> None:
    for name in ("a.fq", "b.fq", "notes.txt", "sub/c.fq"):
        File(workdir / "reads" / name).write(name)
        File(f"s3://{s3_bucket}/reads/{name}").write(name)
    assert scheduler.run(glob_file(str(workdir / "reads" / "*.fq"))) == [
        File(workdir / "reads" / "a.fq"), File(workdir / "reads" / "b.fq")]
    assert scheduler.run(glob_file(str(workdir / "reads" / "**" / "*.fq"))) == [
        File(workdir / "reads" / n) for n in ("a.fq", "b.fq", "sub/c.fq")]
    assert scheduler.run(glob_file(f"s3://{s3_bucket}/reads/*.fq")) == [
        File(f"s3://{s3_bucket}/reads/a.fq"), File(f"s3://{s3_bucket}/reads/b.fq")]
    # Not cached: a new match shows up on the next run.
    File(workdir / "reads" / "d.fq").write("d")
    assert len(scheduler.run(glob_file(str(workdir / "reads" / "*.fq")))) == 3


def test_copy_file_across_storage(scheduler: Any, workdir: Path, s3_bucket: str) -> None:
    src = File(workdir / "a.txt").write("data")
    to_s3 = scheduler.run(copy_file(src, f"s3://{s3_bucket}/copies/a.txt"))
    assert to_s3 == File(f"s3://{s3_bucket}/copies/a.txt") and to_s3.read() == "data"
    back = scheduler.run(copy_file(to_s3, str(workdir / "back" / "a.txt")))
    assert back.read() == "data"
    File(workdir / "kept.txt").write("old")
    kept = scheduler.run(copy_file(src, str(workdir / "kept.txt"), skip_if_exists=True))
    assert kept.read() == "old"


def test_copy_dir_local_to_s3_and_back(scheduler: Any, workdir: Path, s3_bucket: str) -> None:
    File(workdir / "ref" / "ref.fa").write(">chr1\n")
    File(workdir / "ref" / "index" / "ref.fa.bwt").write("bwt")
    remote = scheduler.run(copy_dir(Dir(workdir / "ref"), f"s3://{s3_bucket}/ref"))
    assert remote == Dir(f"s3://{s3_bucket}/ref")
    assert [remote.rel_path(f) for f in remote] == ["index/ref.fa.bwt", "ref.fa"]
    local = scheduler.run(copy_dir(remote, str(workdir / "ref2")))
    assert local.file("index/ref.fa.bwt").read() == "bwt"
    local.file("ref.fa").write(">edited\n")
    again = scheduler.run(copy_dir(remote, str(workdir / "ref2"), skip_if_exists=True))
    assert again.file("ref.fa").read() == ">edited\n"  # files already there are kept


BIG_RUNS: list[int] = []


@task()
def big(n: int) -> str:
    BIG_RUNS.append(n)
    return "x" * n


def _stored_location(sched: Scheduler, text: str) -> str | None:
    from sqlalchemy import select

    from bridge.native.hashing import hash_value
    from bridge.native.schema import values

    with sched.store.engine.connect() as conn:
        return conn.execute(
            select(values.c.location).where(values.c.value_hash == hash_value(text))
        ).scalar()


def test_large_values_round_trip_through_a_local_value_store(workdir: Path) -> None:
    settings = SchedulerSettings(config_dir=str(workdir / ".bridge"), inline_limit=1000)
    with Scheduler(settings) as sched:
        assert sched.run(big(5000)) == "x" * 5000
        location = _stored_location(sched, "x" * 5000)
        assert location is not None
        assert Path(location).parent.parent == workdir / ".bridge" / "values"
        assert sched.run(big(10)) == "x" * 10
        assert _stored_location(sched, "x" * 10) is None  # small: inline in the database
    BIG_RUNS.clear()
    with Scheduler(settings) as sched:
        assert sched.run(big(5000)) == "x" * 5000
    assert BIG_RUNS == []  # replayed from the value store


def test_large_values_round_trip_through_an_s3_value_store(workdir: Path, s3_bucket: str
                                                          ) -> None:
    settings = SchedulerSettings(config_dir=str(workdir / ".bridge"), inline_limit=1000,
                                 value_store=f"s3://{s3_bucket}/values")
    with Scheduler(settings) as sched:
        assert sched.run(big(6000)) == "x" * 6000
        location = _stored_location(sched, "x" * 6000)
        assert location is not None and location.startswith(f"s3://{s3_bucket}/values/")
    listed = boto3.client("s3").list_objects_v2(Bucket=s3_bucket, Prefix="values/")
    assert listed["KeyCount"] >= 1
    BIG_RUNS.clear()
    with Scheduler(settings) as sched:
        assert sched.run(big(6000)) == "x" * 6000
    assert BIG_RUNS == []
