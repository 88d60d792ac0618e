"""Real Airflow for the adapter's tests. Airflow lives in its own venv (.venv-airflow,
made by `make test`); the tests drive it through subprocesses: one `airflow db migrate`
into a temporary AIRFLOW_HOME per session, then `dag.test()` of each exported DAG file
in a fresh process (Airflow keeps global ORM state). Test modules pull the fixture in
with ``from airflow_helpers import airflow_home``."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from workflows import bridge

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_VENV = ROOT / ".venv-airflow" / "bin"
DAG_TIMEOUT = 300

# Runs one DAG file's dag.test() and prints the run's state and task instances as JSON
# on its last line. BatchClientHook polls with random 1-10 s delays: a test harness may
# shorten them (BRIDGE_TEST_BATCH_DELAY, seconds).
DAG_TEST = textwrap.dedent(
    """
    import importlib.util, json, os, sys

    delay = os.environ.get("BRIDGE_TEST_BATCH_DELAY")
    if delay:
        from airflow.providers.amazon.aws.hooks.batch_client import BatchClientHook
        BatchClientHook.DEFAULT_DELAY_MIN = BatchClientHook.DEFAULT_DELAY_MAX = float(delay)
    spec = importlib.util.spec_from_file_location("exported_dag", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = module.dag.test(run_conf=json.loads(sys.argv[2]) or None)
    instances = [[ti.task_id, ti.map_index, str(ti.state)] for ti in run.get_task_instances()]
    print(json.dumps({"state": str(run.state), "instances": sorted(instances)}))
    """
)

# Imports every DAG file of a folder as Airflow's scheduler would, and prints the import
# errors and DAG ids as JSON.
DAGBAG = textwrap.dedent(
    """
    import json, sys
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=sys.argv[1])
    print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()},
                      "dags": sorted(bag.dag_ids)}))
    """
)


_MIGRATED: list[Path] = []  # the session's AIRFLOW_HOME, once made


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated AIRFLOW_HOME, one per session: every test module that takes the
    fixture (each registers its own copy) gets the same folder, migrated once."""
    if not (AIRFLOW_VENV / "airflow").exists():
        pytest.skip(f"Airflow is not installed in {AIRFLOW_VENV.parent} (make test makes it)")
    if not _MIGRATED:
        home = tmp_path_factory.mktemp("airflow_home")
        result = subprocess.run([str(AIRFLOW_VENV / "airflow"), "db", "migrate"],
                                env=airflow_env(home, home / "dags"), capture_output=True,
                                text=True, timeout=DAG_TIMEOUT)
        if result.returncode != 0:
            pytest.fail(f"airflow db migrate failed:\n{result.stderr[-3000:]}")
        _MIGRATED.append(home)
    return _MIGRATED[0]


def airflow_env(home: Path, dags: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BRIDGE_", "AIRFLOW_", "AIRFLOW__"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(dags),
               AIRFLOW__CORE__LOAD_EXAMPLES="False", **extra)
    return env


def _airflow_python(home: Path, dags: Path, script: str, *args: str,
                    **extra: str) -> tuple[dict, str]:
    result = subprocess.run([str(AIRFLOW_VENV / "python"), "-c", script, *args],
                            env=airflow_env(home, dags, **extra), capture_output=True,
                            text=True, timeout=DAG_TIMEOUT)
    output = result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise AssertionError(f"Airflow failed:\n{output[-5000:]}")
    return json.loads(lines[-1]), output


def dag_test(home: Path, dag_file: Path, conf: dict | None = None,
             **extra: str) -> tuple[dict, str]:
    """dag.test() of a DAG file in a fresh process: ({state, instances}, its output)."""
    return _airflow_python(home, dag_file.parent, DAG_TEST, str(dag_file),
                           json.dumps(conf or {}), **extra)


def import_dags(home: Path, dags: Path) -> dict:
    """{errors, dags} of a DagBag of the folder."""
    return _airflow_python(home, dags, DAGBAG, str(dags))[0]


def mapped(run: dict) -> dict[str, int]:
    """Task id -> map width of the run's mapped tasks (0 when the map was empty)."""
    widths: Counter = Counter()
    for task_id, index, state in run["instances"]:
        if index >= 0:
            widths[task_id] += 1
        elif state == "skipped":
            widths[task_id] += 0
    return dict(widths)


def states(run: dict) -> dict[tuple[str, int], str]:
    return {(task_id, index): state for task_id, index, state in run["instances"]}


def export(folder: Path, *args: str) -> Path:
    """`bridge airflow export` in ``folder``; the DAG file written."""
    output = args[args.index("-o") + 1]
    bridge(folder, "airflow", "export", *args)
    return folder / output


def bridge_result(folder: Path, *args: str) -> str:
    """`bridge run ...`'s printed result."""
    return bridge(folder, "run", *args).stdout.strip()
