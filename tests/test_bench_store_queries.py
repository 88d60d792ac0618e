"""bench/bench_store_queries.py at a small scale: it fills a store shaped like real runs and
every command it times answers right (the timing itself is the bench's business)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli_helpers import BRIDGE, subprocess_env

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_store_queries.py"


def test_the_store_query_bench_runs_and_its_commands_answer_right(tmp_path: Path) -> None:
    store = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--jobs", "3000", "--per-execution", "100",
         "--repeat", "1", "--keep", str(store)],
        capture_output=True, text=True, timeout=300, env=subprocess_env(), check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"checked": True, "jobs": 3000}
    assert "bridge log PATH (merged)" in done.stdout

    # the store it leaves reads as the runs it stands for, in a process of our own
    env = subprocess_env(BRIDGE_DB_URI=f"sqlite:///{store / 'bridge.db'}")
    listed = subprocess.run([BRIDGE, "log", "--format", "json", "-n", "50"], env=env,
                            capture_output=True, text=True, check=True).stdout
    executions = json.loads(listed)["executions"]
    assert len(executions) == 30 and {e["jobs"] for e in executions} == {100}
    assert executions[0]["description"] == "pipeline.py main --sample sample-29"
    merged = subprocess.run([BRIDGE, "log", "/data/sample-15/merged.bam", "--format", "json"],
                            env=env, capture_output=True, text=True, check=True).stdout
    view = json.loads(merged)
    assert view["producer"]["task"] == "pipeline.merge"
    # the merged file came from the nine align calls that returned a File
    align_calls = {e["from_call"] for e in view["edges"] if e["from_task"] == "pipeline.align"}
    assert len(align_calls) == 9
