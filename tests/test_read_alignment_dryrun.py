"""The dry-run plan on the read-alignment example, Snakemake's `-n` scenario: after one
read of one FASTQ lane of one sample changes, `bridge run --dryrun` names every step that
the following real run runs (the calls beneath `main`, predicted from its recorded run),
none of the other sample's, and records nothing; `--viz` draws those predicted steps."""

from __future__ import annotations

import gzip
import re
import shutil
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from cli_helpers import BRIDGE
from test_read_alignment import EXAMPLE, missing_tools, open_scheduler

pytestmark = pytest.mark.skipif(
    bool(missing_tools()),
    reason=f"{', '.join(missing_tools())} not installed (scripts/system-deps.sh installs them)",
)

WORKFLOW = str(EXAMPLE / "workflow.py")
EDITED_LANE = "results/data/samples/sample1/sample1_L001_R1.fastq.gz"
LINE = re.compile(r"^(?P<pad> +)(?P<status>WOULD RUN|CACHED|UNKNOWN) +"
                  r"(?P<call>[\w.]+)\((?P<args>.*)$")


def run_bridge(folder: Path, *args: str) -> str:
    done = subprocess.run([BRIDGE, *args], cwd=folder, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def edited(relative_run: Path, tmp_path: Path) -> Path:
    """A copy of the run (mtimes kept) with one read of sample1's lane L001 changed."""
    folder = tmp_path / "run"
    shutil.copytree(relative_run, folder)
    lane = folder / EDITED_LANE
    with gzip.open(lane, "rt") as handle:
        lines = handle.read().splitlines(keepends=True)
    sequence = lines[1]
    lines[1] = ("T" if sequence[0] != "T" else "G") + sequence[1:]  # one base of one read
    with gzip.open(lane, "wt") as handle:
        handle.write("".join(lines))
    return folder


def executions_and_jobs(folder: Path) -> tuple[int, int]:
    with sqlite3.connect(folder / ".bridge" / "bridge.db") as db:
        return (db.execute("select count(*) from executions").fetchone()[0],
                db.execute("select count(*) from jobs").fetchone()[0])


def planned_steps(text: str) -> Counter:
    """(task, sample) of every WOULD RUN line of the dry run's text; a step's sample is
    that of the align_sample call it is listed beneath (None above them)."""
    steps: Counter = Counter()
    samples: list[str | None] = []  # by depth
    for line in text.splitlines():
        match = LINE.match(line)
        if match is None:
            continue
        depth = len(match["pad"]) // 2 - 1
        found = re.match(r"sample_id='(\w+)'", match["args"])
        sample = found[1] if found and match["call"].endswith(".align_sample") else (
            samples[depth - 1] if depth else None)
        samples[depth:] = [sample]
        if match["status"] == "WOULD RUN":
            steps[(match["call"], sample)] += 1
    return steps


def ran_steps(folder: Path) -> Counter:
    """(task, sample) of every job the latest execution ran (DONE, not replayed)."""
    with open_scheduler(folder) as scheduler:
        latest = scheduler.store.find_executions(limit=1)[0]["execution_id"]
        graph = scheduler.store.execution_graph(latest)
    by_id = {job["job_id"]: job for job in graph.jobs}

    def sample_of(job: dict | None) -> str | None:
        while job is not None and job["task_name"] != "read_alignment.align_sample":
            job = by_id.get(job["parent_id"])
        if job is None:
            return None
        sample_hash = next(a["hash"] for a in job["arguments"] if a["name"] == "sample_id")
        return graph.values[sample_hash]["preview"].strip("'")

    return Counter((job["task_name"], sample_of(job)) for job in graph.jobs
                   if job["status"] == "DONE")


@pytest.mark.timeout(1200)
def test_the_dry_run_names_every_step_an_edited_lane_reruns(edited: Path) -> None:
    before = executions_and_jobs(edited)
    text = run_bridge(edited, "run", "--dryrun", WORKFLOW, "main")
    assert executions_and_jobs(edited) == before  # the dry run recorded nothing
    planned = planned_steps(text)
    assert "(predicted)" in text
    assert f"input file changed or missing: {EDITED_LANE}" in text
    assert not [step for step in planned if step[1] == "sample2"], text
    for task in ("merge_fastq", "cut_adapters", "run_bwa", "mark_dups",
                 "collect_align_metrics", "collect_depth_metrics"):
        assert planned[(f"read_alignment.{task}", "sample1")] == 1, text
    run_bridge(edited, "run", WORKFLOW, "main")
    assert ran_steps(edited) == planned, text


@pytest.mark.timeout(600)
def test_the_dry_run_draws_its_plan(edited: Path) -> None:
    before = executions_and_jobs(edited)
    text = run_bridge(edited, "viz", "--dryrun", "-o", "plan.dot", WORKFLOW, "main")
    assert "Wrote the plan's graph to plan.dot" in text
    assert executions_and_jobs(edited) == before
    dot = (edited / "plan.dot").read_text()
    for task in ("merge_fastq", "cut_adapters", "run_bwa", "mark_dups"):
        # the predicted step, drawn dashed, as a call that would run
        assert re.search(rf'label="read_alignment\.{task}\\nWOULD RUN \(predicted\)", '
                         r'fillcolor="[^"]+", style="rounded,filled,dashed"', dot), dot
    # a dataflow edge between two predicted steps, labelled with the argument it feeds
    assert re.search(r'-> "call\d+" \[label="reads1"\]', dot), dot
