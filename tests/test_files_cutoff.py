"""Content-aware file identity, as a user meets it through `bridge run`: a touched small
input re-runs nothing, a deleted output of a deterministic step re-runs that step only (its
readers replay: early cut-off), a file above the size limit still goes by size and mtime,
and `File(path, identity=...)` chooses for one file.

Each workflow is a file run with `bridge run` in fresh processes, as a user would."""

from __future__ import annotations

import os
from pathlib import Path

from workflows import bridge, ran_tasks, write_workflow

UPPER_THEN_COUNT = """
    @task()
    def upper(src: File, out: str) -> File:
        ran("upper")
        return File(out).write(src.read().upper())

    @task()
    def count(f: File) -> int:
        ran("count")
        return len(f.read())

    @task()
    def main(path: str = "in.txt", identity: str = "") -> int:
        ran("main")
        src = File(path, identity=identity) if identity else File(path)
        return count(upper(src, "mid.txt"))
"""


def setup(folder: Path, limit: int | None = None) -> None:
    write_workflow(folder, UPPER_THEN_COUNT)
    (folder / "in.txt").write_text("some reads\n")
    if limit is not None:
        (folder / ".bridge").mkdir(exist_ok=True)
        (folder / ".bridge" / "bridge.ini").write_text(
            f"[files]\ncontent_hash_limit = {limit}\n")


def run(folder: Path, *args: str) -> str:
    return bridge(folder, "run", "workflow.py", "main", *args).stdout.strip().splitlines()[-1]


def touch(path: Path) -> None:
    """A later mtime, same bytes (as `touch` or a copy that rewrites a file does)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))


def test_touching_a_small_input_reruns_nothing(workdir: Path) -> None:
    setup(workdir)
    assert run(workdir) == "11"
    assert ran_tasks(workdir) == ["count", "main", "upper"]
    touch(workdir / "in.txt")
    assert run(workdir) == "11"
    assert ran_tasks(workdir) == []
    (workdir / "in.txt").write_text("other reads\n")  # an edit still re-runs its readers
    assert run(workdir) == "12"
    assert ran_tasks(workdir) == ["count", "main", "upper"]


def test_a_deleted_deterministic_output_reruns_only_its_producer(workdir: Path) -> None:
    setup(workdir)
    run(workdir)
    ran_tasks(workdir)
    (workdir / "mid.txt").unlink()
    assert run(workdir) == "11"
    # main's body runs again to rebuild the graph; upper re-makes the same bytes, so count,
    # which read them, replays
    assert ran_tasks(workdir) == ["main", "upper"]
    assert (workdir / "mid.txt").read_text() == "SOME READS\n"


def test_a_file_above_the_limit_goes_by_size_and_mtime(workdir: Path) -> None:
    setup(workdir, limit=4)
    run(workdir)
    ran_tasks(workdir)
    touch(workdir / "in.txt")
    run(workdir)
    # in.txt is new to upper, whose output (above the limit too) has a new mtime for count
    assert ran_tasks(workdir) == ["count", "main", "upper"]


def test_one_file_chooses_its_identity(workdir: Path) -> None:
    setup(workdir)
    run(workdir, "--identity", "stat")
    ran_tasks(workdir)
    touch(workdir / "in.txt")
    run(workdir, "--identity", "stat")
    assert ran_tasks(workdir) == ["main", "upper"]  # mid.txt's bytes are the same: count replays

    setup(workdir, limit=4)  # nothing small enough for content by default, but asked for
    run(workdir, "--identity", "content")
    ran_tasks(workdir)
    touch(workdir / "in.txt")
    run(workdir, "--identity", "content")
    assert ran_tasks(workdir) == []


def test_a_bad_limit_is_an_error_naming_the_key(workdir: Path) -> None:
    setup(workdir)
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text("[files]\ncontent_hash_limit = -1\n")
    failed = bridge(workdir, "run", "workflow.py", "main", check=False)
    assert failed.returncode != 0
    assert "[files] content_hash_limit: Input should be greater than or equal to 0" in (
        failed.stderr)
    assert "Traceback" not in failed.stderr
