"""The cache never lies: a replay returns what `--no-cache` would, however the workflow
built its files and spelled its calls, and each execution keeps its own record.

Each workflow is a file run with `bridge run` in fresh processes, as a user would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from workflows import bridge, ran_tasks, write_workflow

COUNT_IN_BODY = """
    @task()
    def count_lines(f: File) -> int:
        ran("count_lines")
        return len(f.read().splitlines())

    @task()
    def main(path: str) -> int:
        ran("main")
        return count_lines(File(path))
"""

COUNT_TWO_LEVELS_DOWN = """
    @task()
    def count_lines(f: File) -> int:
        ran("count_lines")
        return len(f.read().splitlines())

    @task()
    def middle(path: str) -> int:
        ran("middle")
        return count_lines(File(path))

    @task()
    def main(path: str) -> int:
        ran("main")
        return middle(path) + 0
"""


def result_line(folder: Path, *args: str) -> str:
    """The printed result of `bridge run` (its last stdout line)."""
    return bridge(folder, "run", *args).stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("body", [COUNT_IN_BODY, COUNT_TWO_LEVELS_DOWN],
                         ids=["in-the-parent", "two-levels-down"])
def test_a_file_built_in_a_body_reruns_its_parents_when_it_changes(
    workdir: Path, body: str
) -> None:
    write_workflow(workdir, body)
    data = workdir / "data.txt"
    data.write_text("a\nb\n")
    assert result_line(workdir, "workflow.py", "main", "--path", "data.txt") == "2"
    ran_tasks(workdir)
    assert result_line(workdir, "workflow.py", "main", "--path", "data.txt") == "2"
    assert ran_tasks(workdir) == []  # unchanged: a replay
    with data.open("a") as handle:
        handle.write("c\n")
    assert result_line(workdir, "workflow.py", "main", "--path", "data.txt") == "3"
    assert "count_lines" in ran_tasks(workdir)
    assert result_line(workdir, "workflow.py", "main", "--path", "data.txt") == "3"
    assert ran_tasks(workdir) == []


def test_a_dir_built_in_a_body_reruns_its_parent_when_a_file_is_added(workdir: Path) -> None:
    write_workflow(workdir, """
        from bridge import Dir

        @task()
        def count_files(folder: Dir) -> int:
            ran("count_files")
            return len(folder.files())

        @task()
        def main(path: str) -> int:
            ran("main")
            return count_files(Dir(path))
    """)
    lanes = workdir / "lanes"
    lanes.mkdir()
    (lanes / "1.fq").write_text("x")
    assert result_line(workdir, "workflow.py", "main", "--path", "lanes") == "1"
    (lanes / "2.fq").write_text("y")
    ran_tasks(workdir)
    assert result_line(workdir, "workflow.py", "main", "--path", "lanes") == "2"
    assert ran_tasks(workdir) == ["count_files", "main"]


def test_an_overwritten_s3_object_built_in_a_body_reruns_its_parent(
    workdir: Path, s3_bucket: str
) -> None:
    import boto3

    write_workflow(workdir, COUNT_IN_BODY)
    uri = f"s3://{s3_bucket}/data.txt"
    s3 = boto3.client("s3")
    s3.put_object(Bucket=s3_bucket, Key="data.txt", Body=b"a\nb\n")
    assert result_line(workdir, "workflow.py", "main", "--path", uri) == "2"
    s3.put_object(Bucket=s3_bucket, Key="data.txt", Body=b"a\nb\nc\nd\n")
    ran_tasks(workdir)
    assert result_line(workdir, "workflow.py", "main", "--path", uri) == "4"
    assert ran_tasks(workdir) == ["count_lines", "main"]


def test_a_version_bump_of_the_wrapper_reruns_its_script(workdir: Path) -> None:
    tool_log = workdir / "tool.log"
    workflow = """
        from bridge import script

        @task(version="VERSION")
        def mark_dups(name: str) -> str:
            return script(f"echo ran >> TOOL_LOG; echo {name}")
    """.replace("TOOL_LOG", str(tool_log))
    write_workflow(workdir, workflow.replace("VERSION", "1"))
    assert result_line(workdir, "workflow.py", "mark_dups", "--name", "s1") == "'s1\\n'"
    bridge(workdir, "run", "workflow.py", "mark_dups", "--name", "s1")
    assert tool_log.read_text().splitlines() == ["ran"]  # the replay did not run the tool
    write_workflow(workdir, workflow.replace("VERSION", "2"))
    bridge(workdir, "run", "workflow.py", "mark_dups", "--name", "s1")
    assert tool_log.read_text().splitlines() == ["ran", "ran"]


def test_an_edit_of_the_wrapper_reruns_its_script(workdir: Path) -> None:
    tool_log = workdir / "tool.log"
    workflow = """
        from bridge import script

        @task()
        def wrapper(name: str) -> str:
            note = "NOTE"
            return script(f"echo ran >> TOOL_LOG; echo {name}")
    """.replace("TOOL_LOG", str(tool_log))
    write_workflow(workdir, workflow.replace("NOTE", "first"))
    bridge(workdir, "run", "workflow.py", "wrapper", "--name", "s1")
    write_workflow(workdir, workflow.replace("NOTE", "second"))
    bridge(workdir, "run", "workflow.py", "wrapper", "--name", "s1")
    assert tool_log.read_text().splitlines() == ["ran", "ran"]


SPELLINGS = """
    from bridge import Scheduler

    @task()
    def countdown(n: int, acc: int = 0) -> int:
        ran("countdown")
        return n + acc

    if __name__ == "__main__":
        import sys
        spelling = sys.argv[1]
        call = {"positional": countdown(2), "keyword": countdown(n=2),
                "default-given": countdown(2, 0), "all-keywords": countdown(acc=0, n=2)}
        print(Scheduler().run(call[spelling]))
"""


def test_one_call_is_one_cache_entry_however_it_is_spelled(workdir: Path) -> None:
    import subprocess
    import sys

    write_workflow(workdir, SPELLINGS)
    for spelling in ("positional", "keyword", "default-given", "all-keywords"):
        done = subprocess.run([sys.executable, "workflow.py", spelling], cwd=workdir,
                              capture_output=True, text=True, check=True)
        assert done.stdout.strip() == "2"
    result_line(workdir, "workflow.py", "countdown", "--n", "2")
    assert ran_tasks(workdir) == ["countdown"]  # once, for five spellings
    jobs = json.loads(bridge(workdir, "log", "--task", "countdown", "--format", "json").stdout)
    hashes = {bridge_json(workdir, job["job_id"])["call_hash"] for job in jobs["jobs"]}
    assert len(jobs["jobs"]) == 5 and len(hashes) == 1


def bridge_json(folder: Path, *args: str) -> dict:
    return json.loads(bridge(folder, "log", *args, "--format", "json").stdout)


def test_a_call_that_does_not_fit_the_signature_names_the_task(workdir: Path) -> None:
    write_workflow(workdir, """
        @task()
        def countdown(n: int, acc: int = 0) -> int:
            return n + acc

        @task()
        def main() -> int:
            return countdown(2, colour="red")
    """)
    failed = bridge(workdir, "run", "workflow.py", "main", check=False)
    assert failed.returncode == 1
    assert "countdown" in failed.stderr and "colour" in failed.stderr


def test_each_execution_keeps_the_file_hashes_it_saw(workdir: Path) -> None:
    from bridge import File

    write_workflow(workdir, """
        @task()
        def make(path: str, text: str) -> File:
            return File(path).write(text)

        @task()
        def count(f: File) -> int:
            return len(f.read())

        @task()
        def main(path: str, text: str) -> int:
            return count(make(path, text))
    """)
    out = workdir / "out.txt"
    bridge(workdir, "run", "workflow.py", "main", "--path", "out.txt", "--text", "first")
    first_hash = File("out.txt").hash  # as the workflow names it
    out.unlink()  # re-made with other bytes (the same bytes would be the same hash)
    bridge(workdir, "run", "workflow.py", "main", "--path", "out.txt", "--text", "second")
    second_hash = File("out.txt").hash
    out.write_text("edited by hand, longer")
    assert first_hash != second_hash
    executions = bridge_json(workdir)["executions"]
    second, first = executions[0]["execution_id"], executions[1]["execution_id"]
    for execution, expected in ((first, first_hash), (second, second_hash)):
        files = bridge_json(workdir, execution, "--file")["files"]
        assert [(f["path"], f["hash"], f["mode"]) for f in files] == [
            ("out.txt", expected, "rw")
        ]
        made = next(job for job in bridge_json(workdir, execution)["jobs"]
                    if job["task"].endswith("make"))
        assert bridge_json(workdir, made["job_id"])["result_hash"] is not None


def test_an_unreadable_cached_value_reruns_with_a_warning(workdir: Path) -> None:
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text("[backend]\ninline_limit = 10\n")
    write_workflow(workdir, """
        @task()
        def big(n: int) -> str:
            ran("big")
            return "x" * n
    """)
    bridge(workdir, "run", "workflow.py", "big", "--n", "100")
    shutil.rmtree(workdir / ".bridge" / "values")
    ran_tasks(workdir)
    again = bridge(workdir, "run", "workflow.py", "big", "--n", "100")
    assert ran_tasks(workdir) == ["big"]
    assert "cached result of" in again.stderr and "cannot be read" in again.stderr


def test_a_dry_run_writes_no_values(workdir: Path) -> None:
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text("[backend]\ninline_limit = 10\n")
    write_workflow(workdir, """
        @task()
        def size(text: str) -> int:
            return len(text)
    """)
    bridge(workdir, "run", "workflow.py", "size", "--text", "short")
    before = sorted(p.name for p in (workdir / ".bridge").rglob("*"))
    dry = bridge(workdir, "run", "--dryrun", "workflow.py", "size", "--text", "y" * 500)
    assert "WOULD RUN" in dry.stdout
    assert sorted(p.name for p in (workdir / ".bridge").rglob("*")) == before


TASK_IN_BLOCKS = """
    import os

    if os.environ.get("NO_SUCH_VARIABLE") is None:
        @task()
        def step(x: int) -> int:
            ran("step")
            return x + 1

    try:
        import no_such_module  # noqa: F401
    except ImportError:
        @task()
        def main(x: int) -> int:
            ran("main")
            return step(x)
"""


def test_editing_a_task_defined_inside_a_block_runs_it_again(workdir: Path) -> None:
    """Tasks defined under an `if` and in an `except` (optional imports) are hashed by
    their own source: editing one re-runs it, and a run without edits replays."""
    write_workflow(workdir, TASK_IN_BLOCKS)
    assert bridge(workdir, "run", "workflow.py", "main", "--x", "1").stdout.strip() == "2"
    assert ran_tasks(workdir) == ["main", "step"]
    assert bridge(workdir, "run", "workflow.py", "main", "--x", "1").stdout.strip() == "2"
    assert ran_tasks(workdir) == []
    write_workflow(workdir, TASK_IN_BLOCKS.replace("return x + 1", "return x + 10"))
    assert bridge(workdir, "run", "workflow.py", "main", "--x", "1").stdout.strip() == "11"
    assert ran_tasks(workdir) == ["main", "step"]
