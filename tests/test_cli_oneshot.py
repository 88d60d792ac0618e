"""`bridge oneshot`, the containers' entry point, run here on calls packaged into a local
folder as the docker and aws_batch executors package them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bridge.loading import load_workflow
from bridge.native.executors.base import Work
from bridge.native.executors.packaging import code_root, pack_call, read_outcome
from cli_helpers import assert_user_error, invoke, write_workflow


def _package(folder: Path, task, *args) -> str:
    folder.mkdir()
    work = Work("job", task, args, {}, {}, "call-" + folder.name, False)
    (folder / "input.pkl").write_bytes(pack_call(work, code_root(task)))
    return str(folder)


def test_oneshot_runs_a_packaged_call_and_writes_its_outcome(workdir: Path) -> None:
    sys.modules.pop("wf", None)  # the previous test's wf.py
    workflow = load_workflow(str(write_workflow(workdir)))
    done = _package(workdir / "done", workflow.nap, 0.0, 7)
    assert invoke("oneshot", done).exit_code == 0
    assert read_outcome(done, "job").value == 7
    failed = _package(workdir / "failed", workflow.boom, "kaput")
    assert invoke("oneshot", failed).exit_code == 1  # the job fails; the error travels back
    outcome = read_outcome(failed, "job")
    assert not outcome.ok and str(outcome.error) == "kaput"
    manifest = workdir / "array.json"
    manifest.write_text(json.dumps({"calls": [done, failed]}))
    assert invoke("oneshot", "--array", str(manifest),
                  env={"AWS_BATCH_JOB_ARRAY_INDEX": "1"}).exit_code == 1


def test_oneshot_bad_inputs(workdir: Path) -> None:
    assert_user_error(invoke("oneshot", "nowhere"), "nowhere", "input.pkl")
    assert_user_error(invoke("oneshot", "--array", "a.json"), "AWS_BATCH_JOB_ARRAY_INDEX")
    assert_user_error(invoke("oneshot"), "CALL", "--array")
