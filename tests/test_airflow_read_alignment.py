"""The read-alignment example (bwa, samtools, cutadapt, Picard on its synthetic data) as
an exported DAG on real Airflow: each step of each sample is a task instance of its
mapped position, and `bridge run` afterwards replays the whole pipeline."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import airflow_helpers
from airflow_helpers import dag_test, export, mapped
from test_read_alignment import missing_tools
from workflows import bridge

airflow_home = airflow_helpers.airflow_home  # the session's migrated AIRFLOW_HOME

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "read_alignment"
RUFF = str(Path(sys.executable).with_name("ruff"))
STEPS = ("merge_fastq", "cut_adapters", "run_bwa", "mark_dups", "collect_align_metrics",
         "collect_depth_metrics")

pytestmark = pytest.mark.skipif(
    bool(missing_tools()),
    reason=f"{', '.join(missing_tools())} not installed (scripts/system-deps.sh installs them)",
)


def status_counts(stderr: str) -> dict[str, int]:
    """The ALL row of `bridge run`'s job-status table, by column."""
    row = next(line for line in stderr.splitlines() if line.split("|")[-1].split()[:1]
               == ["ALL"])
    numbers = [int(n) for n in row.split("|")[-1].split()[1:]]
    return dict(zip(["PENDING", "RUNNING", "FAILED", "CACHED", "DONE", "TOTAL"], numbers,
                    strict=True))


def test_the_read_alignment_example_runs_as_a_dag(workdir, airflow_home):
    shutil.copy(EXAMPLE / "workflow.py", workdir / "workflow.py")
    shutil.copy(EXAMPLE / "simulate.py", workdir / "simulate.py")
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge/bridge.ini").write_text("[executors.tools]\ntype = local\n")
    dag = export(workdir, "-o", "dags/read_alignment.py", "workflow.py", "main")
    checked = subprocess.run([RUFF, "check", "--config", str(ROOT / "pyproject.toml"), str(dag)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
    (workdir / ".bridge/bridge.db").unlink()  # the DAG computes everything again
    shutil.rmtree(workdir / "results")

    run, output = dag_test(airflow_home, dag)
    assert run["state"] == "success", output[-3000:]
    widths = mapped(run)
    samples = widths["main.align_samples.align_sample.run_bwa"]
    assert samples >= 2
    for step in STEPS:  # one task instance per sample at every step
        assert widths[f"main.align_samples.align_sample.{step}"] == samples
    assert widths["main.index_genome_ref"] == 1

    again = bridge(workdir, "run", "workflow.py", "main")
    counts = status_counts(again.stderr)
    assert counts["DONE"] == 0 and counts["CACHED"] == counts["TOTAL"] > 30
    bams = sorted((workdir / "results").glob("*/*.markdup.bam"))
    assert len(bams) == samples
