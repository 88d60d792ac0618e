"""The read-alignment example after a touched input and a deleted intermediate, as
Snakemake users expect: touching a FASTQ lane re-runs nothing (small files are known by
their content), and deleting the merged FASTQ of one sample re-runs its merge only (the
merge re-makes the same bytes, so the steps that read them replay).

The example runs once per module, with relative paths, in a folder each scenario copies."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_read_alignment import LOCAL_CONFIG, open_scheduler, run_main
from test_read_alignment import pytestmark as pytestmark  # skipped without the tools

SCRIPT = "bridge.script"


@pytest.fixture
def project(relative_run: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the first run's folder (files, store and all), to change and run in."""
    copy = tmp_path / "project"
    shutil.copytree(relative_run, copy)  # keeps mtimes: large files stay unchanged too
    with contextlib.chdir(copy):
        yield copy


def run_again(root: Path) -> list[dict]:
    """Run the example again in ``root``; the jobs of that execution."""
    _, execution = run_main(root, LOCAL_CONFIG, output_path="results")
    with open_scheduler(root) as scheduler:
        return scheduler.store.execution_graph(execution).jobs


def ran(jobs: list[dict]) -> Counter:
    """How many calls of each task ran (did not replay)."""
    return Counter(job["task_name"].rpartition(".")[2] if job["task_name"] != SCRIPT
                   else SCRIPT for job in jobs if job["status"] == "DONE")


def test_touching_an_input_lane_reruns_nothing(project: Path) -> None:
    lane = project / "results" / "data" / "samples" / "sample1" / "sample1_L001_R1.fastq.gz"
    stat = lane.stat()
    os.utime(lane, ns=(stat.st_atime_ns, stat.st_mtime_ns + 60_000_000_000))
    jobs = run_again(project)
    assert ran(jobs) == Counter()
    assert {job["status"] for job in jobs} == {"CACHED"}


def test_deleting_a_merged_fastq_reruns_only_its_merge(project: Path) -> None:
    merged = project / "results" / "sample1" / "sample1.1.fastq.gz"
    before = merged.read_bytes()
    merged.unlink()
    jobs = run_again(project)
    assert merged.read_bytes() == before  # merge_fastq is deterministic (cat of gzip lanes)
    by_id = {job["job_id"]: job for job in jobs}
    scripts = [job for job in jobs if job["task_name"] == SCRIPT and job["status"] == "DONE"]
    # the one script step that ran is sample1's merge; the bodies above it re-ran to rebuild
    # the graph; every other step (cutadapt, bwa, Picard, depth) replayed
    assert [by_id[job["parent_id"]]["task_name"] for job in scripts] == [
        "read_alignment.merge_fastq"]
    assert ran(jobs) == Counter({SCRIPT: 1, "merge_fastq": 1, "align_sample": 1,
                                 "align_samples": 1, "main": 1})
