"""Temporary outputs (`File(...).temp()`), through `bridge run` in fresh processes: removed
when the run ends, their absence replays their readers, a reader that must run gets them
made again first, and a replay never returns what `--no-cache` would not."""

from __future__ import annotations

import json
from pathlib import Path

from workflows import bridge, ran_tasks, write_workflow

SHOUT = """
    @task()
    def shout(src: File, out: str) -> File:
        ran("shout")
        return File(out).temp().write(src.read().upper())
"""

SPLIT_THEN_COUNT = SHOUT + """
    @task()
    def count(f: File) -> int:
        ran("count")
        return len(f.read()) {extra}

    @task()
    def main(path: str = "in.txt") -> int:
        ran("main")
        return count(shout(File(path), "mid.txt"))

    @task()
    def keep(path: str = "in.txt") -> File:
        ran("keep")
        return shout(File(path), "kept.txt")

    @task()
    def count_kept(path: str = "in.txt") -> int:
        return count(shout(File(path), "kept.txt"))
"""


def setup(folder: Path, extra: str = "", content_hash_limit: int | None = None) -> None:
    write_workflow(folder, SPLIT_THEN_COUNT.replace("{extra}", extra))
    (folder / "in.txt").write_text("some reads\n")
    if content_hash_limit is not None:
        (folder / ".bridge").mkdir(exist_ok=True)
        (folder / ".bridge" / "bridge.ini").write_text(
            f"[files]\ncontent_hash_limit = {content_hash_limit}\n")


def run(folder: Path, task: str, *options: str) -> str:
    return bridge(folder, "run", *options, "workflow.py", task).stdout.strip().splitlines()[-1]


def test_a_temporary_output_is_removed_and_its_absence_replays(workdir: Path) -> None:
    setup(workdir)
    assert run(workdir, "main") == "11"
    assert ran_tasks(workdir) == ["count", "main", "shout"]
    assert not (workdir / "mid.txt").exists()  # its one reader has finished
    assert run(workdir, "main") == "11"
    assert ran_tasks(workdir) == []  # gone, yet its recorded hash stands for it
    (workdir / "in.txt").write_text("other reads, longer\n")  # an edit still re-runs
    assert run(workdir, "main") == "20"
    assert ran_tasks(workdir) == ["count", "main", "shout"]
    assert not (workdir / "mid.txt").exists()


def test_a_reader_that_must_run_gets_the_file_made_again(workdir: Path) -> None:
    setup(workdir)
    run(workdir, "main")
    ran_tasks(workdir)
    setup(workdir, extra="+ 100")  # count's code changed: it must run, and read mid.txt
    assert run(workdir, "main") == "111"
    # shout replayed first (its file gone, its hash standing), then ran again for count
    assert ran_tasks(workdir) == ["count", "main", "shout"]
    assert not (workdir / "mid.txt").exists()
    assert run(workdir, "main", "--no-cache") == "111"


def test_a_temporary_file_in_the_runs_result_is_kept_and_made_again(workdir: Path) -> None:
    setup(workdir)
    run(workdir, "keep")
    assert (workdir / "kept.txt").read_text() == "SOME READS\n"  # the run hands it over
    ran_tasks(workdir)
    (workdir / "kept.txt").unlink()
    run(workdir, "keep")
    assert (workdir / "kept.txt").read_text() == "SOME READS\n"
    assert ran_tasks(workdir) == ["keep", "shout"]


def test_a_reader_whose_file_is_made_with_other_bytes_fails_clearly(workdir: Path) -> None:
    write_workflow(workdir, """
        import time

        @task()
        def stamp(out: str) -> File:
            return File(out).temp().write(str(time.time_ns()))

        @task()
        def read(f: File) -> str:
            return f.read()

        @task()
        def main() -> str:
            return read(stamp("stamp.txt"))
    """)
    run(workdir, "main")
    (workdir / "workflow.py").write_text((workdir / "workflow.py").read_text().replace(
        "return f.read()", "return f.read() + '!'"))
    failed = bridge(workdir, "run", "workflow.py", "main", check=False)
    assert failed.returncode != 0
    assert "made again with other content" in failed.stderr + failed.stdout
    assert "Traceback" not in failed.stderr


def test_a_scripts_temporary_output(workdir: Path) -> None:
    """script() outputs are marked on their remote File: File(path).temp().stage(local)."""
    body = """
        from bridge import script

        @task()
        def shout(src: File) -> File:
            ran("shout")
            return script("tr a-z A-Z < in.txt > out.txt", inputs=[src.stage("in.txt")],
                          outputs=File("mid.txt").temp().stage("out.txt"), tempdir=True)

        @task()
        def count(f: File) -> int:
            ran("count")
            return len(f.read()) {extra}

        @task()
        def main() -> int:
            return count(shout(File("in.txt")))
    """
    write_workflow(workdir, body.replace("{extra}", ""))
    (workdir / "in.txt").write_text("some reads\n")
    assert run(workdir, "main") == "11"
    assert not (workdir / "mid.txt").exists()
    ran_tasks(workdir)
    assert run(workdir, "main") == "11"
    assert ran_tasks(workdir) == []
    write_workflow(workdir, body.replace("{extra}", "+ 1"))
    assert run(workdir, "main") == "12"
    assert ran_tasks(workdir) == ["count", "shout"]  # shout's script ran again for count
    assert not (workdir / "mid.txt").exists()


def test_a_large_temporary_file_made_again_is_known_by_its_content(workdir: Path) -> None:
    """Above content_hash_limit a file is known by size and mtime, but a temporary one is
    hashed by content: made again with the same bytes (a new mtime), its reader runs."""
    setup(workdir, content_hash_limit=4)  # mid.txt (11 bytes) is a large file here
    run(workdir, "main")
    ran_tasks(workdir)
    # count's code changed (in.txt, a large file too, is left as it is)
    write_workflow(workdir, SPLIT_THEN_COUNT.replace("{extra}", "+ 100"))
    assert run(workdir, "main") == "111"
    assert ran_tasks(workdir) == ["count", "main", "shout"]  # shout replayed, then ran
    assert not (workdir / "mid.txt").exists()


def test_a_temporary_file_that_cannot_be_removed_is_a_warning(workdir: Path) -> None:
    write_workflow(workdir, """
        @task()
        def mark() -> File:
            return File("/proc/version").temp()  # no one may delete it, not even root

        @task()
        def count(f: File) -> int:
            return len(f.read()) > 0

        @task()
        def main() -> bool:
            return count(mark())
    """)
    done = bridge(workdir, "run", "workflow.py", "main")
    assert done.stdout.strip().splitlines()[-1] == "True"
    assert "the temporary file /proc/version could not be removed" in done.stderr
    assert "Traceback" not in done.stderr
    view = json.loads(bridge(workdir, "log", "-", "--format", "json").stdout)
    assert view["status"] == "DONE"


def test_a_run_leaves_the_temporary_files_it_only_replayed(workdir: Path) -> None:
    """kept.txt was made by an earlier run; a run that replays its producer leaves it for
    whoever else may read it (another run on the same folder)."""
    setup(workdir)
    run(workdir, "keep")
    ran_tasks(workdir)
    assert run(workdir, "count_kept") == "11"
    assert ran_tasks(workdir) == ["count"]  # shout replayed: it made nothing this time
    assert (workdir / "kept.txt").read_text() == "SOME READS\n"


def test_an_async_body_awaiting_a_replayed_temporary_file_gets_it_made_again(
        workdir: Path) -> None:
    body = SHOUT + """
    @task()
    async def main(path: str = "in.txt") -> int:
        ran("main")
        made = await shout(File(path), "mid.txt")
        return len(made.read()) {extra}
"""
    write_workflow(workdir, body.replace("{extra}", ""))
    (workdir / "in.txt").write_text("some reads\n")
    assert run(workdir, "main") == "11"
    assert not (workdir / "mid.txt").exists()
    ran_tasks(workdir)
    write_workflow(workdir, body.replace("{extra}", "+ 100"))  # main runs, shout replays
    assert run(workdir, "main") == "111"
    assert ran_tasks(workdir) == ["main", "shout"]  # shout ran again for the await
    assert not (workdir / "mid.txt").exists()
