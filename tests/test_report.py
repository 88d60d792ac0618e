"""`bridge report` without a browser: the data embedded in the page is what the store
holds (every job with its task, status and arguments, every file, each file's upstream
chain), for a finished run on SQLite and PostgreSQL, a failed run, a run still in
progress, and a run recorded by an older schema."""

from __future__ import annotations

import subprocess
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_helpers import BRIDGE, as_version, assert_user_error, invoke, subprocess_env

REPORTED = textwrap.dedent('''
    import os
    import time
    from pathlib import Path

    from bridge import File, script, task

    bridge_namespace = "rep"


    @task()
    def make_lanes(n: int, out: str) -> list:
        return [File(f"{out}/lane{i}.txt").write(f"read {i}\\n") for i in range(n)]


    @task()
    def merge(lanes: list[File], out: str) -> File:
        names = " ".join(lane.path for lane in lanes)
        return script(
            f"echo 'mergetool version 1.4.2' >&2\\ncat {names} > {out}/merged.txt\\n"
            "echo merged",
            inputs=lanes, outputs=File(f"{out}/merged.txt"), vcpus=1, memory=1)


    @task()
    def metrics(merged: File, out: str) -> File:
        lines = merged.read().splitlines()
        return File(f"{out}/metrics.tsv").write(f"reads\\t{len(lines)}\\n<b>&</b>\\n")


    @task()
    def main(n: int = 2, out: str = "out") -> dict:
        merged = merge(make_lanes(n, out), out)
        return {"merged": merged, "metrics": metrics(merged, out)}


    @task()
    def broken(out: str = "out") -> File:
        return script("echo 'aligner 0.7.17' >&2\\necho 'reference not indexed' >&2\\nexit 3",
                      outputs=File(f"{out}/never.txt"))


    @task()
    def held(gate: str) -> str:
        """Waits inside its body until the test creates ``gate``."""
        Path(gate + ".waiting").touch()
        while not os.path.exists(gate):
            time.sleep(0.05)
        return "released"


    @task()
    def slow_main(gate: str, out: str = "out") -> list:
        return [make_lanes(1, out), held(gate)]
''')


@pytest.fixture
def reported(workdir: Path) -> Path:
    (workdir / "wf.py").write_text(REPORTED)
    return workdir


def report(*args: str, env: dict[str, str] | None = None) -> dict:
    """`bridge report` into report.html; the data the page embeds."""
    from bridge.report.page import embedded_data

    result = invoke("report", *args, "-o", "report.html", env=env)
    assert result.exit_code == 0, result.output
    assert "Wrote the report of execution" in result.output
    page = Path("report.html").read_text()
    assert "http://" not in page.replace("http://www.w3.org/", "")  # nothing to fetch
    assert "https://" not in page and "<link" not in page and " src=" not in page
    assert "<b>&</b>" not in page  # a preview's markup is data, never HTML
    return embedded_data(page)


def sqlite_uri(folder: Path) -> str:
    return f"sqlite:///{folder / '.bridge' / 'bridge.db'}"


def recorded_jobs(uri: str) -> tuple[dict, list[dict]]:
    """The latest execution's row and its job rows (with their arguments' previews),
    read from the store directly."""
    from sqlalchemy import create_engine

    from bridge import queries
    from bridge.native.record import Record

    store = Record(create_engine(uri))
    try:
        execution = queries.latest_execution(store)
        jobs = queries.find_jobs(store, execution_id=execution["execution_id"], limit=None)
        values = queries.values_by_hash(store, (a["hash"] for j in jobs for a in j["arguments"]))
    finally:
        store.close()
    for job in jobs:
        for arg in job["arguments"]:
            arg["preview"] = values[arg["hash"]]["preview"]
    return execution, jobs


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def check_against_store(data: dict, out: str, uri: str) -> None:
    execution, jobs = recorded_jobs(uri)
    assert data["execution"]["execution_id"] == execution["execution_id"]
    assert data["execution"]["status"] == "DONE"
    shown = {job["job_id"]: job for job in data["jobs"]}
    assert set(shown) == {job["job_id"] for job in jobs}
    for job in jobs:
        entry = shown[job["job_id"]]
        assert (entry["task"], entry["status"], entry["parent_id"]) == (
            job["task_name"], job["status"], job["parent_id"])
        assert [(a["name"], a["preview"]) for a in entry["arguments"]] == [
            (a["name"], a["preview"]) for a in job["arguments"]]
    assert data["status_counts"] == {
        "rep.main": {"DONE": 1}, "rep.make_lanes": {"DONE": 1}, "rep.merge": {"DONE": 1},
        "bridge.script": {"DONE": 1}, "rep.metrics": {"DONE": 1}}

    files = {f["path"]: f for f in data["files"]}
    lanes = [f"{out}/lane0.txt", f"{out}/lane1.txt"]
    assert set(files) == {*lanes, f"{out}/merged.txt", f"{out}/metrics.tsv"}
    by_task = {job["task"]: job for job in data["jobs"]}
    assert files[f"{out}/metrics.tsv"]["producer"] == by_task["rep.metrics"]["job_id"]
    assert files[f"{out}/merged.txt"]["producer"] == by_task["bridge.script"]["job_id"]
    assert files[lanes[0]]["producer"] == by_task["rep.make_lanes"]["job_id"]
    # the small text output, as it is on disk (the page escapes it: it is JSON text)
    assert files[f"{out}/metrics.tsv"]["preview"] == {"text": "reads\t2\n<b>&</b>\n",
                                                    "note": None}

    # the metrics file's chain, as `bridge log PATH` traces it: metrics <- merge <- the
    # lanes make_lanes wrote <- its arguments, given as they are
    chain = data["chains"][by_task["rep.metrics"]["job_id"]]
    ends = {block["variable"]: block["end"] for block in chain}
    assert ends["result"]["task"] == "rep.metrics"
    assert ends["merged"]["task"] == "rep.merge"
    assert ends["merged"]["arguments"][0]["files"] == lanes
    assert ends["lanes"]["task"] == "rep.make_lanes"
    assert ends["n"] == {"kind": "origin"}

    # the script step: its whole command, what it printed, what it asked for
    merge_script = by_task["bridge.script"]
    assert merge_script["script"]["command"].startswith("echo 'mergetool version 1.4.2' >&2\n")
    assert merge_script["script"]["stderr"] == "mergetool version 1.4.2"
    assert merge_script["script"]["stdout"] == "merged"
    assert merge_script["resources"] == {"vcpus": 1, "memory": 1}
    assert "def merge(lanes" in by_task["rep.merge"]["source"]


def test_report_data_matches_the_store(reported: Path) -> None:
    assert invoke("run", "wf.py", "main").exit_code == 0
    data = report()
    check_against_store(data, "out", sqlite_uri(reported))
    assert data["graph"]["svg"].startswith("<svg")  # Graphviz is installed here
    # text that looks like the page's own markup stays data (a description is the command line)
    from bridge.report.page import embedded_data, render

    odd = {**data, "execution": {**data["execution"],
                                 "description": "</script><b>__BRIDGE_REPORT_DATA__"}}
    page = render(odd)
    assert embedded_data(page) == odd and "</script><b>" not in page
    # a later run replays main: its report shows the replay, and the files it returned
    assert invoke("run", "wf.py", "main").exit_code == 0
    again = report()
    assert [(j["task"], j["status"]) for j in again["jobs"]] == [("rep.main", "CACHED")]
    assert again["status_counts"]["rep.merge"] == {"CACHED": 1}
    assert {f["path"] for f in again["files"] if f["producer"]} == {
        "out/merged.txt", "out/metrics.tsv"}
    # and the first run's report, by id prefix, is still the first run's
    first = report(data["execution"]["execution_id"][:8])
    assert [j["job_id"] for j in first["jobs"]] == [j["job_id"] for j in data["jobs"]]
    # a preview is today's file: the report says when that is not what the run made
    (reported / "out" / "metrics.tsv").write_text("reads\t3\n")
    edited = {f["path"]: f for f in report(data["execution"]["execution_id"][:8])["files"]}
    assert edited["out/metrics.tsv"]["preview"]["text"] == "reads\t3\n"
    assert "changed since this run" in edited["out/metrics.tsv"]["preview"]["note"]


def test_report_on_postgresql(reported: Path, postgres_uri: str) -> None:
    env = {"BRIDGE_DB_URI": postgres_uri}
    out = str(reported / "out")  # unique in the shared database
    assert invoke("run", "wf.py", "main", "--out", out, env=env).exit_code == 0
    check_against_store(report(env=env), out, postgres_uri)


def test_a_failed_step_shows_its_error_and_output(reported: Path) -> None:
    assert invoke("run", "wf.py", "broken").exit_code != 0
    data = report()
    assert data["execution"]["status"] == "FAILED"
    failed = [job for job in data["jobs"] if job["failed_here"]]
    assert [job["task"] for job in failed] == ["bridge.script"]
    assert "script exited with code 3" in failed[0]["error"]
    assert "reference not indexed" in failed[0]["error"]  # the error's stderr tail
    assert failed[0]["script"]["stderr"] == "aligner 0.7.17\nreference not indexed"
    assert {job["status"] for job in data["jobs"]} == {"FAILED"}


def test_a_run_in_progress(reported: Path) -> None:
    gate = reported / "gate"
    run = subprocess.Popen([BRIDGE, "run", "wf.py", "slow_main", "--gate", str(gate)],
                           cwd=reported, env=subprocess_env(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    shown: list[dict] = []

    def held_is_running() -> bool:
        # the run writes its record every flush_interval: until then, nothing to report
        if invoke("report", "-o", "report.html").exit_code != 0:
            return False
        shown.append(report())
        return any(j["task"] == "rep.held" and j["status"] == "RUNNING"
                   for j in shown[-1]["jobs"])

    try:
        wait_for((reported / "gate.waiting").exists, "the held task's body to start")
        wait_for(held_is_running, "the report to show the held job RUNNING")
        data = shown[-1]
        assert data["execution"]["status"] == "RUNNING"
        assert data["execution"]["in_progress"] is True
        statuses = {j["task"]: j["status"] for j in data["jobs"]}
        assert statuses["rep.slow_main"] == "RUNNING"
        held = next(j for j in data["jobs"] if j["task"] == "rep.held")
        assert held["ended"] == "-" and held["duration"] == "-"
    finally:
        gate.touch()
        assert run.wait(timeout=120) == 0
    done = report()
    assert done["execution"]["status"] == "DONE" and not done["execution"]["in_progress"]


def test_a_run_recorded_by_an_older_schema(reported: Path) -> None:
    """An execution from before jobs.details (schema version 4): the report shows it,
    with no command or output it never recorded."""
    assert invoke("run", "wf.py", "main").exit_code == 0
    as_version(sqlite_uri(reported), 4)
    assert invoke("db", "upgrade").exit_code == 0
    data = report()
    script_job = next(j for j in data["jobs"] if j["task"] == "bridge.script")
    assert script_job["script"] is None and script_job["resources"] == {}
    assert "mergetool" in script_job["arguments"][0]["preview"]  # its recorded argument


def test_bad_ids(reported: Path) -> None:
    assert_user_error(invoke("report"), "bridge init")
    assert invoke("run", "wf.py", "main").exit_code == 0
    assert_user_error(invoke("report", "zzzz", "-o", "r.html"), "zzzz", "bridge log")
    job = recorded_jobs(sqlite_uri(reported))[1][0]["job_id"]
    assert_user_error(invoke("report", job[:8], "-o", "r.html"), "is a job, not an execution")
    assert_user_error(invoke("report", "-o", "no/such/folder/r.html"), "no/such/folder/r.html")


def test_the_call_graph_is_left_out_with_the_reason(reported: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge.report import data as report_data

    assert invoke("run", "wf.py", "main").exit_code == 0
    with monkeypatch.context() as patched:
        patched.setattr(report_data, "GRAPH_LIMIT", 3)  # this run has 5 jobs
        too_big = report()["graph"]
    assert too_big["svg"] is None and "5 jobs" in too_big["note"]
    assert "bridge viz" in too_big["note"]
    with monkeypatch.context() as patched:
        patched.setenv("PATH", str(reported))  # no Graphviz on it
        without_dot = invoke("report", "-o", "report.html")
    assert without_dot.exit_code == 0
    assert "without the call graph: Graphviz's `dot` is not installed" in without_dot.output
