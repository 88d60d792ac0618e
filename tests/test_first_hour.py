"""What a newcomer trips on in the first hour, run as they run it: `bridge run` and
`bridge log` in fresh processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from pathlib import Path

import boto3

from workflows import BRIDGE, bridge, write_workflow

COUNT_S3 = '''
@task()
def count(data: File) -> int:
    return len(data.read())


@task()
def main(path: str) -> int:
    return count(File(path))
'''


def _without_aws_credentials(home: Path) -> dict[str, str]:
    """The environment of a user who never set AWS up: no AWS_* credentials, no ~/.aws,
    not on EC2; the endpoint still points at the test's S3 server."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BRIDGE_", "AWS_ACCESS", "AWS_SECRET", "AWS_SESSION",
                                "AWS_PROFILE"))}
    env.update(HOME=str(home), AWS_CONFIG_FILE=str(home / "missing" / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "missing" / "credentials"),
               AWS_EC2_METADATA_DISABLED="true")
    return env


def test_an_s3_input_without_credentials_says_how_to_set_them(workdir: Path,
                                                              s3_bucket: str) -> None:
    path = f"s3://{s3_bucket}/in/reads.txt"
    boto3.client("s3").put_object(Bucket=s3_bucket, Key="in/reads.txt", Body=b"ACGT")
    write_workflow(workdir, COUNT_S3)
    env = _without_aws_credentials(workdir / "home")
    # the File given on the command line, or made in a body and passed to a call
    for args in (["count", "--data", path], ["main", "--path", path]):
        run = subprocess.run([BRIDGE, "run", "workflow.py", *args], cwd=workdir, env=env,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 2, run.stderr
        errors = [line for line in run.stderr.splitlines() if not line.startswith("[bridge]")]
        assert len(errors) == 1, run.stderr  # one line, no traceback
        line = errors[0]
        assert f"argument data of count: {path}" in line
        assert "AWS_PROFILE" in line and "AWS_ACCESS_KEY_ID" in line and "aws configure" in line
        assert "hash" not in line and "plain data" not in line
        # the execution's record holds the error
        execution = re.search(r"bridge log (\w+)\)$", line).group(1)
        logged = bridge(workdir, "log", execution).stdout
        assert f"argument data of count: {path}: no AWS credentials found" in logged
    view = json.loads(bridge(workdir, "log", execution, "--format", "json").stdout)
    assert view["status"] == "FAILED"
    assert [e["task"] for e in view["errors"]] == ["count"]  # not main, which failed for it
    dryrun = subprocess.run([BRIDGE, "run", "--dryrun", "workflow.py", "count", "--data", path],
                            cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert dryrun.returncode == 2
    assert dryrun.stderr.strip().splitlines() == [
        f"Error: argument data of count: {path}: no AWS credentials found; set AWS_PROFILE to "
        "a profile (`aws configure` makes one), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"]


WAITS_FOR_A_FILE = '''
import time
from pathlib import Path


@task(cache=False)
def quick(n: int) -> int:
    return n


@task(cache=False)
def wait_for(path: str) -> str:
    while not Path(path).exists():
        time.sleep(0.05)
    return path


@task(cache=False)
def main() -> list:
    return [quick(1), wait_for("go")]
'''


def test_a_piped_progress_line_names_what_runs_when_nothing_changes(workdir: Path) -> None:
    write_workflow(workdir, WAITS_FOR_A_FILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    env.update(BRIDGE_STATUS_INTERVAL="0.05", BRIDGE_STATUS_QUIET="0.2")
    process = subprocess.Popen([BRIDGE, "run", "workflow.py", "main"], cwd=workdir, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # should the line never come, the workflow still ends, and so does the loop below
    safety = threading.Timer(60, (workdir / "go").touch)
    safety.start()
    try:
        named = next((line for line in process.stderr if "no change for" in line), "")
        (workdir / "go").touch()
        _, rest = process.communicate(timeout=60)
    finally:
        safety.cancel()
    assert process.returncode == 0, rest
    assert "RUNNING: wait_for(path='go') for " in named, named
    assert "quick" not in named and "main" not in named  # done, or a parent waiting


LIST_OF_CALLS = '''
@task()
def make(name: str, text: str) -> File:
    return File(f"out/{name}.txt").write(text)


@task()
def count(data: File) -> int:
    return len(data.read().split())


@task()
def summarize(counts: list, title: str) -> File:
    return File("out/summary.txt").write(f"{title}: {sum(counts)}")


@task()
def main() -> File:
    return summarize([count(make("a", "x y z")), count(make("b", "p q"))], "words")
'''


def test_log_of_a_file_traces_a_list_fed_by_several_calls(workdir: Path) -> None:
    write_workflow(workdir, LIST_OF_CALLS)
    bridge(workdir, "run", "workflow.py", "main")
    text = bridge(workdir, "log", "out/summary.txt").stdout
    dataflow = [line.strip() for line in text.split("Upstream dataflow:")[1].splitlines()]
    at = dataflow.index("counts <-- derives from")
    assert re.fullmatch(r"\[0\] <-- <\w{8}> count\(data\)", dataflow[at + 1])
    assert re.fullmatch(r"\[1\] <-- <\w{8}> count\(data_2\)", dataflow[at + 2])
    assert re.fullmatch(r"data   = <\w{8}> File\('out/a\.txt'\)", dataflow[at + 3])
    assert re.fullmatch(r"data_2 = <\w{8}> File\('out/b\.txt'\)", dataflow[at + 4])
    # every variable a call line uses is traced in a block of its own
    used = {name for line in dataflow for args in re.findall(r"> \w+\(([\w, ]*)\)", line)
            for name in args.split(", ") if name}
    traced = {line.split(" <-- ")[0] for line in dataflow if " <-- " in line}
    assert used == {"counts", "title", "data", "data_2", "name", "text", "name_2", "text_2"}
    assert used <= traced
    assert "data_2 <-- " in text and "'b'" in text and "'p q'" in text
    view = json.loads(bridge(workdir, "log", "out/summary.txt", "--format", "json").stdout)
    counts = next(block for block in view["blocks"] if block["variable"] == "counts")
    assert counts["end"]["kind"] == "parts"
    assert [[part["subpath"], part["task"]] for part in counts["end"]["parts"]] == [
        [[0], "count"], [[1], "count"]]


def _table_rows(text: str, prefix: str = "") -> dict[str, list[str]]:
    """The status table's rows: task -> its numbers (PENDING ... TOTAL)."""
    lines = [line[len(prefix):] for line in text.splitlines() if line.startswith(prefix)]
    start = next(i for i, line in enumerate(lines) if line.startswith("TASK"))
    return {cells[0]: cells[1:] for cells in (line.split() for line in lines[start + 1:])
            if len(cells) == 7}


def _seconds(duration: str) -> float:
    hours, minutes, seconds = duration.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_status_table_and_log_agree_on_a_cached_run_and_log_shows_durations(
        workdir: Path) -> None:
    write_workflow(workdir, LIST_OF_CALLS)
    first = bridge(workdir, "run", "workflow.py", "main")
    again = bridge(workdir, "run", "workflow.py", "main")  # every call replayed
    for run, status in ((first, 4), (again, 3)):  # DONE, CACHED
        table = _table_rows(run.stderr, "[bridge] | ")
        assert table["ALL"][status] == table["ALL"][5] == "6"
        logged = bridge(workdir, "log", "-" if run is again else _exec_id(run)).stdout
        assert _table_rows(logged) == table
    listing = bridge(workdir, "log").stdout
    assert listing.count("(6 jobs, ") == 2
    view = json.loads(bridge(workdir, "log", _exec_id(first), "--format", "json").stdout)
    assert sum(sum(c.values()) for c in view["status_counts"].values()) == 6
    # a duration per job, in the JSON and the text; a parent's encloses its children's
    durations = {job["task"]: _seconds(job["duration"]) for job in view["jobs"]}
    assert set(durations) == {"main", "make", "count", "summarize"}
    assert all(durations["main"] >= seconds for seconds in durations.values())
    text = bridge(workdir, "log", _exec_id(first)).stdout
    for job in view["jobs"]:
        assert f"Job {job['job_id'][:8]} [  DONE   ] {job['started']} {job['duration']}:  " \
               in text


def _exec_id(run: subprocess.CompletedProcess) -> str:
    return re.search(r"id: ([\w-]+)", run.stderr).group(1)
