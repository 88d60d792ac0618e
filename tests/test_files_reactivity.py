"""Files make workflows reactive: changed data re-runs what read it, and a deleted or
changed output re-runs what made it; nothing else runs again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge import File, task

# Tasks of this module get their own names, apart from other tests' workflows.
bridge_namespace = "tests_files_reactivity"

RUNS: list[str] = []


def ran() -> list[str]:
    names = sorted(RUNS)
    RUNS.clear()
    return names


@task()
def count_lines(file: File) -> int:
    RUNS.append("count_lines")
    return len(file.read().splitlines())


@task()
def shout(file: File) -> str:
    RUNS.append("shout")
    return file.read().upper()


@task()
def readers(a: File, b: File) -> dict:
    RUNS.append("readers")
    return {"lines": count_lines(a), "shout": shout(b)}


@task()
def make(path: str, text: str) -> File:
    RUNS.append("make")
    return File(path).write(text)


@task()
def independent(n: int) -> int:
    RUNS.append("independent")
    return n + 1


@task()
def produce(path: str) -> dict:
    RUNS.append("produce")
    made = make(path, "made\n")
    return {"made": made, "lines": count_lines(made), "other": independent(1)}


@task()
def transcribe(src: File, path: str) -> File:
    RUNS.append("transcribe")
    return File(path).write(src.read().upper())


@task()
def chain(first: str, second: str) -> File:
    RUNS.append("chain")
    return transcribe(make(first, "made\n"), second)


def run_twice_then(scheduler: Any, expr_factory: Any) -> Any:
    """Run once (everything runs), then again (everything replays)."""
    scheduler.run(expr_factory())
    ran()
    scheduler.run(expr_factory())
    assert ran() == []


def test_editing_an_input_reruns_only_its_readers(scheduler: Any, workdir: Path) -> None:
    a = File(workdir / "a.txt").write("1\n2\n")
    b = File(workdir / "b.txt").write("bee")
    run_twice_then(scheduler, lambda: readers(a, b))
    a.write("1\n2\n3\n")
    assert scheduler.run(readers(a, b)) == {"lines": 3, "shout": "BEE"}
    assert ran() == ["count_lines", "readers"]  # shout(b) replays


def test_deleting_an_output_reruns_only_its_producer(scheduler: Any, workdir: Path) -> None:
    out = str(workdir / "out" / "made.txt")
    run_twice_then(scheduler, lambda: produce(out))
    File(out).remove()
    result = scheduler.run(produce(out))
    assert File(out).read() == "made\n" and result["lines"] == 1
    # The parent's body runs to rebuild its graph. The re-made file has the same bytes
    # (a small file is known by its content), so its reader replays, as does the sibling.
    assert ran() == ["make", "produce"]


def test_deleting_the_last_output_reruns_only_its_producer(scheduler: Any, workdir: Path
                                                          ) -> None:
    first, second = str(workdir / "made.txt"), str(workdir / "upper.txt")
    run_twice_then(scheduler, lambda: chain(first, second))
    File(second).remove()
    assert scheduler.run(chain(first, second)).read() == "MADE\n"
    assert ran() == ["chain", "transcribe"]  # the upstream step replays


def test_changing_an_output_reruns_its_producer(scheduler: Any, workdir: Path) -> None:
    out = str(workdir / "made.txt")
    run_twice_then(scheduler, lambda: make(out, "made\n"))
    File(out).write("tampered\n")
    scheduler.run(make(out, "made\n"))
    assert ran() == ["make"]
    assert File(out).read() == "made\n"


def test_s3_overwrite_reruns_readers_and_recreated_output_replays_them(
    scheduler: Any, s3_bucket: str
) -> None:
    a = File(f"s3://{s3_bucket}/in/a.txt").write("1\n")
    b = File(f"s3://{s3_bucket}/in/b.txt").write("bee")
    run_twice_then(scheduler, lambda: readers(a, b))
    a.write("1\n2\n")
    assert scheduler.run(readers(a, b))["lines"] == 2
    assert ran() == ["count_lines", "readers"]

    out = f"s3://{s3_bucket}/out/made.txt"
    run_twice_then(scheduler, lambda: produce(out))
    File(out).remove()
    scheduler.run(produce(out))
    # S3 identity is the ETag (the content), so the re-made output is the same file to
    # its reader, which replays: only the producer (and the parent's body) run.
    assert ran() == ["make", "produce"]
