"""An N-task fan-out on Airflow 3: bridge's exported DAG beside a plain TaskFlow DAG.

Usage (from the repo root, after `make .venv-airflow/.installed`):

    .venv/bin/python bench/bench_airflow.py [--width 200]

In a fresh temp folder (a migrated AIRFLOW_HOME, a bridge project), three `dag.test()`
runs, each in a fresh process with Airflow's own start-up (the in-process API server,
serialising the DAG) timed too:

- plain: the fan-out written by hand as `@task` + `.expand` over `range(N)`;
- bridge, first run: `bridge airflow export` of `fan(N)` (recorded on a 2-wide run),
  its store emptied, so each of the N mapped task instances runs its call;
- bridge, re-run: after `bridge run` of the same call, every task instance replays.

Reported: seconds per run, task instances, and the ratio to the plain DAG. The work per
task is trivial, so the figures are the orchestration overhead per task instance. Also
what importing each DAG file adds to importing `airflow.sdk` (Airflow parses DAG files
constantly): the best of 5 fresh processes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_BIN = ROOT / ".venv-airflow" / "bin"
BRIDGE = str(Path(sys.executable).with_name("bridge"))

WORKFLOW = textwrap.dedent(
    """
    from bridge import task

    @task()
    def work(i: int) -> int:
        return i * i

    @task()
    def fan(n: int) -> list:
        return [work(i) for i in range(n)]
    """
)

PLAIN_DAG = textwrap.dedent(
    """
    from airflow.sdk import DAG, task

    @task
    def numbers(n: int) -> list[int]:
        return list(range(n))

    @task
    def work(i: int) -> int:
        return i * i

    @task
    def total(values: list[int]) -> int:
        return len(values)

    with DAG(dag_id="plain", schedule=None) as dag:
        total(work.expand(i=numbers({width})))
    """
)

DAG_TEST = textwrap.dedent(
    """
    import importlib.util, json, sys
    spec = importlib.util.spec_from_file_location("bench_dag", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = module.dag.test(run_conf=json.loads(sys.argv[2]) or None)
    print(json.dumps({"state": str(run.state), "instances": len(run.get_task_instances())}))
    """
)


def dag_test(env: dict[str, str], dag: Path, conf: dict | None = None) -> tuple[float, int]:
    """Seconds and task instances of one dag.test() in a fresh process."""
    started = time.perf_counter()
    result = subprocess.run([str(AIRFLOW_BIN / "python"), "-c", DAG_TEST, str(dag),
                             json.dumps(conf or {})], env={**env, "AIRFLOW__CORE__DAGS_FOLDER":
                                                           str(dag.parent)},
                            capture_output=True, text=True, cwd=dag.parent)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"dag.test() of {dag} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    run = json.loads(result.stdout.strip().splitlines()[-1])
    if run["state"] != "success":
        sys.exit(f"dag.test() of {dag} ended {run['state']}")
    return seconds, run["instances"]


def parse_seconds(env: dict[str, str], dag: Path, repeat: int = 5) -> tuple[float, float]:
    """Best times, over fresh processes, of importing airflow.sdk, and of then importing
    the DAG file (what parsing it adds to Airflow's own import)."""
    code = textwrap.dedent(f"""
        import importlib.util, time
        started = time.perf_counter()
        import airflow.sdk
        middle = time.perf_counter()
        spec = importlib.util.spec_from_file_location("dag", {str(dag)!r})
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        print(middle - started, time.perf_counter() - middle)
    """)
    runs = [subprocess.run([str(AIRFLOW_BIN / "python"), "-c", code], env=env, check=True,
                           capture_output=True, text=True).stdout.split()
            for _ in range(repeat)]
    return min(float(run[0]) for run in runs), min(float(run[1]) for run in runs)


def bridge(folder: Path, *args: str) -> None:
    subprocess.run([BRIDGE, *args], cwd=folder, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=200)
    width = parser.parse_args().width
    if not (AIRFLOW_BIN / "airflow").exists():
        sys.exit("no .venv-airflow: run `make .venv-airflow/.installed` first")
    work = Path(tempfile.mkdtemp(prefix="bench-airflow-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "AIRFLOW"))}
    env.update(AIRFLOW_HOME=str(work / "home"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    try:
        subprocess.run([str(AIRFLOW_BIN / "airflow"), "db", "migrate"], env=env, check=True,
                       capture_output=True)
        plain = work / "plain" / "plain.py"
        plain.parent.mkdir()
        plain.write_text(PLAIN_DAG.format(width=width))
        project = work / "project"
        project.mkdir()
        (project / "workflow.py").write_text(WORKFLOW)
        bridge(project, "airflow", "export", "-o", "dags/fan.py", "workflow.py", "fan", "--n",
               "2")
        shutil.rmtree(project / ".bridge")
        parse = {"plain": parse_seconds(env, plain),
                 "exported": parse_seconds(env, project / "dags/fan.py")}
        rows = [("plain TaskFlow, .expand", *dag_test(env, plain))]
        rows.append(("bridge export, first run", *dag_test(env, project / "dags/fan.py",
                                                           {"n": width})))
        bridge(project, "run", "workflow.py", "fan", "--n", str(width))
        rows.append(("bridge export, re-run after bridge run (cached)",
                     *dag_test(env, project / "dags/fan.py", {"n": width})))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"| {width}-task fan-out | dag.test() s | task instances | vs plain |")
    print("| --- | ---: | ---: | ---: |")
    for name, seconds, instances in rows:
        print(f"| {name} | {seconds:.1f} | {instances} | {seconds / rows[0][1]:.2f} |")
    print(f"\nimport airflow.sdk: {parse['plain'][0]:.3f} s; then importing the DAG file "
          f"(best of 5 processes): plain {parse['plain'][1]:.3f} s, exported "
          f"{parse['exported'][1]:.3f} s")


if __name__ == "__main__":
    main()
