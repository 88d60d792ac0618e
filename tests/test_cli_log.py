"""`bridge log` through click's runner: executions, jobs, calls, files, provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge import File
from cli_helpers import assert_user_error, invoke, write_workflow


@pytest.fixture
def three_steps(workdir: Path) -> Path:
    write_workflow(workdir)
    result = invoke("run", "wf.py", "main", "--n", "3")
    assert result.exit_code == 0, result.output
    return workdir


def test_file_provenance_traces_each_step_and_the_linking_argument(three_steps: Path) -> None:
    result = invoke("log", "out/total.txt")
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("File ") and " w  out/total.txt" in text.splitlines()[0]
    # the header's r/w mark agrees with `bridge log --file`: total read squares.txt
    assert " rw out/squares.txt" in invoke("log", "out/squares.txt").output.splitlines()[0]
    assert "Produced by Job" in text and "Traceback: Exec" in text
    assert "def total(squares: File, out: str) -> dict:" in text  # the task's source
    # each upstream step, and the argument that links it to the next
    assert "squares <-- <" in text and "> square(data, out_2)" in text
    assert "data <-- <" in text and "> make_data(n, out_3)" in text
    assert "n <-- argument of <" in text and "main(...).n" in text
    assert "<-- origin" in text
    view = json.loads(invoke("log", "out/total.txt", "--format", "json").output)
    edges = {(e["from_task"], e["to_task"], e["argument"]) for e in view["edges"]}
    assert edges == {("three.make_data", "three.square", "data"),
                     ("three.square", "three.total", "squares")}
    assert view["producer"]["task"] == "three.total"
    # an absolute path names the same file
    assert "Produced by Job" in invoke("log", str(three_steps / "out/total.txt")).output


def test_executions_and_one_execution(three_steps: Path) -> None:
    invoke("run", "wf.py", "main", "--n", "3")
    listed = invoke("log")
    assert listed.output.count("Exec ") == 2 and "wf.py main --n 3" in listed.output
    newest = json.loads(invoke("log", "--format", "json").output)["executions"][0]
    latest = invoke("log", "-")
    assert f"Exec {newest['execution_id']}" in latest.output
    assert "three.main(n=3)" in latest.output and "JOB STATUS" in latest.output
    by_prefix = invoke("log", newest["execution_id"][:6])
    # the same view, but for the table's "JOB STATUS <now>" line (the clock may tick between)
    assert without_clock(by_prefix.output) == without_clock(latest.output)
    view = json.loads(invoke("log", "-", "--format", "json").output)
    # the replayed main stands for its three calls, as the run's own table counted them
    assert view["status"] == "DONE" and view["status_counts"] == {
        name: {"CACHED": 1} for name in ("three.main", "three.make_data", "three.square",
                                         "three.total")}
    assert [job["task"] for job in view["jobs"]] == ["three.main"]


def test_jobs_and_calls_by_prefix_and_filters(three_steps: Path) -> None:
    jobs = json.loads(invoke("log", "-", "--format", "json").output)["jobs"]
    square = next(job for job in jobs if job["call"].startswith("three.square"))
    shown = invoke("log", square["job_id"][:8])
    assert shown.exit_code == 0
    assert "CallNode" in shown.output and "def square" in shown.output
    job = json.loads(invoke("log", square["job_id"][:8], "--format", "json").output)
    call = invoke("log", job["call_hash"][:12])
    assert f"CallNode {job['call_hash']} three.square" in call.output
    only = invoke("log", "-", "--task", "square")
    assert "three.square" in only.output and "three.make_data(" not in only.output
    done = json.loads(invoke("log", "--status", "done", "--format", "json").output)["jobs"]
    assert len(done) == 4 and all(j["status"] == "DONE" for j in done)
    assert "No jobs match." in invoke("log", "--status", "FAILED").output


def test_files_with_read_and_write_marks(three_steps: Path) -> None:
    result = invoke("log", "--file")
    lines = {line.split()[-1]: line.split()[-2] for line in result.output.splitlines()}
    assert lines == {"out/data.txt": "rw", "out/squares.txt": "rw", "out/total.txt": "w"}
    assert "out/data.txt" in invoke("log", "-", "--file").output


def test_the_file_list_shows_each_file_as_last_written_and_each_execution_as_it_was(
        workdir: Path) -> None:
    (workdir / "rewrite.py").write_text(
        "from bridge import File, task\n\n"
        "bridge_namespace = 'rewrite'  # its main is not another test's\n\n"
        "@task()\n"
        "def main(n: int = 1) -> File:\n"
        "    return File('out.txt').write(str(n))\n")
    hashes = []
    for n in ("1", "2"):
        assert invoke("run", "rewrite.py", "main", "--n", n).exit_code == 0
        hashes.append(File("out.txt").hash[:8])
    assert hashes[0] != hashes[1]
    assert invoke("log").output.count("(1 job, ") == 2  # one job each, said so

    def listed(*args: str) -> str:
        rows = [line.split() for line in invoke("log", *args, "--file").output.splitlines()]
        return next(row[1] for row in rows if row and row[-1] == "out.txt")

    assert listed() == hashes[1]  # over all executions: the newest
    executions = json.loads(invoke("log", "--format", "json").output)["executions"]
    first = executions[-1]["execution_id"]  # listed newest first
    assert listed(first[:8]) == hashes[0]  # an execution keeps what it wrote


def test_unknown_ids_and_paths(three_steps: Path) -> None:
    assert_user_error(invoke("log", "zzzz"), "zzzz")
    assert_user_error(invoke("log", "out/nothing.txt"), "out/nothing.txt")
    assert_user_error(invoke("log", "-", "--status", "BUSY"), "BUSY")


def test_log_without_a_store(workdir: Path) -> None:
    # most often the wrong folder: the message says so before `bridge init`
    assert_user_error(invoke("log"), "no bridge store at", "project's folder", "--config",
                      "bridge init")


def test_provenance_and_files_on_postgresql(workdir: Path, postgres_uri: str) -> None:
    write_workflow(workdir)
    env = {"BRIDGE_DB_URI": postgres_uri}
    out = str(workdir / "out")  # unique in the shared database
    assert invoke("run", "wf.py", "main", "--n", "2", "--out-dir", out, env=env).exit_code == 0
    view = json.loads(invoke("log", f"{out}/total.txt", "--format", "json", env=env).output)
    assert {(e["from_task"], e["to_task"]) for e in view["edges"]} == {
        ("three.make_data", "three.square"), ("three.square", "three.total")}
    files = invoke("log", view["producer"]["execution_id"][:8], "--file", env=env).output
    assert f"rw {out}/data.txt" in files and f"w  {out}/total.txt" in files


def without_clock(output: str) -> list[str]:
    return [line for line in output.splitlines() if not line.startswith("JOB STATUS ")]
