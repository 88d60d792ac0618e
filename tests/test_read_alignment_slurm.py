"""The read-alignment example on SLURM, switched by bridge.ini alone: `bridge run` with the
example's `tools` executor set to `type = slurm` on the session's private cluster gives
the same alignments and metrics as the local run of test_read_alignment.py, every shell
step having run as a SLURM job, and a second run submits none."""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import BRIDGE
from slurm_cluster import SlurmCluster
from test_executor_slurm import jobs
from test_read_alignment import (  # noqa: F401 (local_run is a fixture)
    EXAMPLE,
    flagstat,
    job_statuses,
    local_run,
    missing_tools,
    open_scheduler,
    picard_metrics,
    run_main,
    sample_ids,
    samtools,
)

# The pipeline runs twice here: locally (the fixture) and on SLURM, some twenty steps each;
# the suite's 300 s default (pyproject.toml) is for tests that are not inherently long.
pytestmark = [
    pytest.mark.skipif(
        bool(missing_tools()),
        reason=f"{', '.join(missing_tools())} not installed (scripts/system-deps.sh installs them)",
    ),
    pytest.mark.timeout(1200),
]


def slurm_config(slurm: SlurmCluster, prefix: str) -> str:
    return (f"[executors.tools]\ntype = slurm\npartition = {slurm.partition}\n"
            f"job_name_prefix = {prefix}\npoll_interval = 0.5\n")


def outcomes(sample: dict) -> dict[str, Any]:
    """What the local test checks of a sample's outputs, in a form two runs can share."""
    bam = sample["bam"].path
    metrics = sample["align_metrics"]
    return {
        "flagstat": flagstat(bam),
        "records": int(samtools("view", "-c", bam).strip()),
        "idxstats": samtools("idxstats", bam),
        "duplicates": picard_metrics(sample["dup_metrics"].path)[0]["READ_PAIR_DUPLICATES"],
        "aligned": [(row["CATEGORY"], row["PCT_PF_READS_ALIGNED"])
                    for row in picard_metrics(metrics["align_metrics"].path)],
        "insert_median": picard_metrics(metrics["insert_metrics"].path)[0][
            "MEDIAN_INSERT_SIZE"],
        "adapters": json.loads(Path(sample["adapter_report"].path).read_text())["read_counts"],
        "depth": hashlib.sha256(Path(sample["depth_metrics"]["depth"].path).read_bytes())
        .hexdigest(),
    }


def test_pipeline_on_slurm_matches_the_local_run(
        slurm: SlurmCluster, local_run: dict, tmp_path: Path) -> None:  # noqa: F811
    prefix = f"ra{uuid.uuid4().hex[:8]}"
    config = slurm_config(slurm, prefix)
    (tmp_path / ".bridge").mkdir()
    (tmp_path / ".bridge" / "bridge.ini").write_text(config)
    out = tmp_path / "results"
    done = subprocess.run([BRIDGE, "run", str(EXAMPLE / "workflow.py"), "main",
                           "--output-path", str(out)],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]

    # every shell step ran as a SLURM job (a job or an array child each); none failed
    with open_scheduler(tmp_path) as scheduler:
        [first] = [e["execution_id"] for e in scheduler.store.find_executions()]
    submitted = sum(len(children) for children in jobs(slurm, prefix).values())
    assert submitted == job_statuses(tmp_path, first, task="bridge.script")["DONE"] > 10
    assert set(job_statuses(tmp_path, first)) == {"DONE"}

    # a second run replays every step from the cache and submits nothing
    result, again = run_main(tmp_path, config, output_path=str(out))
    assert set(job_statuses(tmp_path, again)) == {"CACHED"}
    assert sum(len(children) for children in jobs(slurm, prefix).values()) == submitted

    assert sorted(result) == sample_ids(local_run)
    for sample in sample_ids(local_run):
        assert outcomes(result[sample]) == outcomes(local_run["result"][sample]), sample

