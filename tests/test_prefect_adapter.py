"""The Prefect adapter against a real Prefect server on 127.0.0.1: `bridge prefect run`
gives `bridge run`'s result and cache entries, each executed job is a task run named
after its bridge task with its real state, and the two commands replay each other."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from docker_engine import base_image, docker_engine  # noqa: F401 (fixtures)
from prefect_runs import client, flow_run, flow_run_id, logs, states, task_name, task_runs
from prefect_server import prefect_server
from workflows import BRIDGE, ran_tasks, write_workflow

pytest.importorskip("prefect", reason="the prefect extra is not installed")

WORKFLOW = """
import os

from bridge import script


@task()
def measure(sample: str) -> int:
    ran("measure")
    print(f"measuring {sample}")
    return len(sample)


@task()
def summarise(values: list) -> dict:
    ran("summarise")
    return {"n": len(values), "total": sum(values)}


@task()
def fan_out(sheet: File) -> dict:
    '''As many measure calls as the sample sheet has lines, read when it runs.'''
    ran("fan_out")
    return summarise([measure(line) for line in sheet.read().split()])


@task()
def plus(a: int, b: int) -> int:
    ran("plus")
    return a + b


@task()
def tree(depth: int = 3) -> int:
    ran("tree")
    return 1 if depth == 0 else plus(tree(depth - 1), 1)


@task()
def fragile(x: int) -> int:
    ran("fragile")
    raise ValueError(f"cannot take {x}")


@task()
def fallback(error: Exception) -> int:
    ran("fallback")
    return -1


@task()
def recovering(x: int = 7) -> list:
    ran("recovering")
    return [catch(fragile(x), ValueError, fallback), measure("abc")]


@task()
def broken() -> dict:
    ran("broken")
    return summarise([fragile(1), measure("ok")])


@task()
def write_report(name: str) -> File:
    ran("write_report")
    os.makedirs("reports", exist_ok=True)
    report = File(f"reports/{name}.txt")
    report.write(name.upper() * 3)
    return report


@task()
def reports(names: str = "ab,cde") -> list:
    ran("reports")
    written = [write_report(name) for name in names.split(",")]
    return [measure_file(report) for report in written]


@task()
def measure_file(report: File) -> int:
    ran("measure_file")
    return len(report.read())


@task(retries=1)
def flaky(marker: str = "flaky.marker") -> str:
    ran("flaky")
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("the first attempt fails")
    return "second attempt"


@task(executor="procs")
def in_a_process(x: int) -> int:
    ran("in_a_process")
    return x * 10


@task()
def mixed(x: int = 4) -> list:
    ran("mixed")
    return [in_a_process(x), script("echo to-stdout; echo to-stderr >&2", outputs=File("-"))]


@task()
def boxed(n: int = 2) -> str:
    ran("boxed")
    return script(f"echo boxed {n} in $(hostname)", executor="box", outputs=File("-"))


@task()
def sleepy(seconds: int = 317) -> str:
    ran("sleepy")
    return script(f"sleep {seconds}; echo woke", outputs=File("-"))
"""

# task, its arguments, and the task runs a first run makes (task, state)
CASES = {
    "fan-out": ("fan_out", ["--sheet", "samples.txt"],
                [("fan_out", "Completed"), ("measure", "Completed"), ("measure", "Completed"),
                 ("measure", "Completed"), ("summarise", "Completed")]),
    "recursion": ("tree", ["--depth", "3"],
                  [("plus", "Completed")] * 3 + [("tree", "Completed")] * 4),
    "catch": ("recovering", [],  # the catch is a call of its own (bridge.catch)
              [("catch", "Completed"), ("fallback", "Completed"), ("fragile", "Failed"),
               ("measure", "Completed"), ("recovering", "Completed")]),
    "files": ("reports", ["--names", "ab,cde"],
              [("measure_file", "Completed")] * 2 + [("reports", "Completed")]
              + [("write_report", "Completed")] * 2),
}


@pytest.fixture(scope="module")
def prefect_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    try:
        with prefect_server(tmp_path_factory.mktemp("prefect-home")) as env:
            yield env
    except RuntimeError as error:
        pytest.skip(f"a Prefect server could not start: {error}")


def project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_workflow(folder, WORKFLOW)
    (folder / ".bridge").mkdir()
    (folder / ".bridge" / "bridge.ini").write_text(
        "[executors.procs]\ntype = local\nmode = processes\nmax_workers = 1\n")
    (folder / "samples.txt").write_text("a1\nb22\nc333\n")
    return folder


def run(env: dict[str, str], folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`bridge ARGS` in ``folder``, a fresh process, talking to the test's server."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "PREFECT_"))}
    return subprocess.run([BRIDGE, *args], cwd=folder, capture_output=True, text=True,
                          env={**clean, **env}, timeout=300)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    return result


def value(result: subprocess.CompletedProcess) -> str:
    """The printed result: the last line of stdout (bodies may print before it)."""
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("case", list(CASES))
def test_a_prefect_run_is_a_bridge_run(prefect_env: dict, tmp_path: Path, case: str) -> None:
    task, args, expected = CASES[case]
    folder = project(tmp_path / "prefect-first")
    first = ok(run(prefect_env, folder, "prefect", "run", "workflow.py", task, *args))
    executed = ran_tasks(folder)
    runs = task_runs(prefect_env, flow_run_id(first.stderr), len(expected))
    assert states(runs) == sorted(expected)
    # one task run per executed job (bridge's own catch call writes no ran.log line)
    assert sorted(name for name in map(task_name, runs) if name != "catch") == executed
    assert flow_run(prefect_env, flow_run_id(first.stderr)).state_name == "Completed"

    # bridge run of the same call replays everything, with the same result
    replay = ok(run(prefect_env, folder, "run", "workflow.py", task, *args))
    assert value(replay) == value(first)
    assert ran_tasks(folder) == []

    # the other way round: after bridge run, a Prefect run executes no body
    other = project(tmp_path / "bridge-first")
    assert value(ok(run(prefect_env, other, "run", "workflow.py", task, *args))) == value(first)
    ran_tasks(other)
    second = ok(run(prefect_env, other, "prefect", "run", "workflow.py", task, *args))
    assert value(second) == value(first)
    assert ran_tasks(other) == []
    assert states(task_runs(prefect_env, flow_run_id(second.stderr), 1)) == [(task, "Cached")]


def test_a_body_prints_to_its_task_runs_log(prefect_env: dict, tmp_path: Path) -> None:
    folder = project(tmp_path)
    first = ok(run(prefect_env, folder, "prefect", "run", "workflow.py", "fan_out",
                   "--sheet", "samples.txt"))
    runs = task_runs(prefect_env, flow_run_id(first.stderr), 5)
    measured = {run.name: run for run in runs if task_name(run) == "measure"}
    assert len(measured) == 3
    # Prefect's graph has bridge's edges: parent to child, and the dataflow
    by_task = {task_name(run): run for run in runs}
    for run_ in measured.values():
        assert waits_for(run_) == {by_task["fan_out"].id}
    assert waits_for(by_task["summarise"]) == {by_task["fan_out"].id} | {
        run_.id for run_ in measured.values()}
    for name, measure_run in measured.items():
        sample = name.split("('", 1)[1].split("'", 1)[0]  # measure[hash]('b22')
        assert f"measuring {sample}" in logs(prefect_env, measure_run.id)
        assert "executor:default" in measure_run.tags
        assert any(tag.startswith("call:") for tag in measure_run.tags)


def test_prefect_retries_a_call_with_retries(prefect_env: dict, tmp_path: Path) -> None:
    folder = project(tmp_path)
    first = ok(run(prefect_env, folder, "prefect", "run", "workflow.py", "flaky"))
    assert value(first) == "'second attempt'"
    assert ran_tasks(folder) == ["flaky", "flaky"]
    [flaky] = task_runs(prefect_env, flow_run_id(first.stderr), 1)
    assert flaky.state_name == "Completed"
    with client(prefect_env) as api:
        history = [state.name for state in api.read_task_run_states(flaky.id)]
    assert "Retrying" in history, history
    ok(run(prefect_env, folder, "run", "workflow.py", "flaky"))
    assert ran_tasks(folder) == []  # bridge recorded one successful call


def test_jobs_on_other_executors_and_scripts_are_task_runs(prefect_env: dict,
                                                           tmp_path: Path) -> None:
    """A job on an executor other than local threads (here local processes) runs there,
    mirrored in its task run; a script's output goes to its task run's log."""
    folder = project(tmp_path)
    first = ok(run(prefect_env, folder, "prefect", "run", "workflow.py", "mixed"))
    assert value(first) == "[40, 'to-stdout\\n']"
    runs = {task_name(r): r for r in task_runs(prefect_env, flow_run_id(first.stderr), 3)}
    assert sorted(runs) == ["in_a_process", "mixed", "script"]
    assert "executor:procs" in runs["in_a_process"].tags
    assert runs["in_a_process"].state_name == "Completed"
    script_log = "\n".join(logs(prefect_env, runs["script"].id))
    assert "to-stdout" in script_log and "to-stderr" in script_log
    assert value(ok(run(prefect_env, folder, "run", "workflow.py", "mixed"))) == value(first)
    assert ran_tasks(folder) == ["in_a_process", "mixed"]  # the Prefect run's, none since


def test_a_docker_job_is_submitted_by_bridge_and_mirrored(prefect_env: dict, tmp_path: Path,
                                                          base_image: str) -> None:  # noqa: F811
    folder = project(tmp_path)
    with (folder / ".bridge" / "bridge.ini").open("a") as ini:
        ini.write(f"[executors.box]\ntype = docker\nimage = {base_image}\n")
    first = ok(run(prefect_env, folder, "prefect", "run", "workflow.py", "boxed"))
    assert value(first).startswith("'boxed 2 in ")
    assert socket.gethostname() not in value(first)  # it ran in a container
    runs = {task_name(r): r for r in task_runs(prefect_env, flow_run_id(first.stderr), 2)}
    assert [(name, r.state_name) for name, r in sorted(runs.items())] == [
        ("boxed", "Completed"), ("script", "Completed")]
    assert "executor:box" in runs["script"].tags
    assert "DockerExecutor" in "\n".join(logs(prefect_env, runs["script"].id))
    assert value(ok(run(prefect_env, folder, "run", "workflow.py", "boxed"))) == value(first)
    assert ran_tasks(folder) == ["boxed"]  # the Prefect run's; bridge run replayed it


def waits_for(task_run: object) -> set:
    """The task runs a task run waited for (its ``wait_for`` inputs)."""
    return {ref.id for ref in task_run.task_inputs.get("wait_for", [])}  # type: ignore[attr-defined]


def test_a_failing_workflow_fails_its_flow_run(prefect_env: dict, tmp_path: Path) -> None:
    folder = project(tmp_path)
    failed = run(prefect_env, folder, "prefect", "run", "workflow.py", "broken")
    assert failed.returncode == 1
    assert "ValueError: cannot take 1" in failed.stderr
    run_id = flow_run_id(failed.stderr)
    assert flow_run(prefect_env, run_id).state_name == "Failed"
    assert ("fragile", "Failed") in states(task_runs(prefect_env, run_id, 3))
    # the execution is in bridge's store under the flow run's id
    log = ok(run(prefect_env, folder, "log", run_id[:8]))
    assert "FAILED" in log.stdout


def test_the_flow_takes_the_tasks_parameters(prefect_env: dict, tmp_path: Path) -> None:
    """Prefect's form for a flow: the task's names, types and defaults; a File is a path."""
    folder = project(tmp_path)
    code = ("import json\n"
            "from bridge.loading import load_workflow, find_task\n"
            "from bridge.adapters.prefect import flow_for\n"
            "module = load_workflow('workflow.py')\n"
            "for name in ('fan_out', 'tree', 'reports'):\n"
            "    schema = flow_for(find_task(module, name)).parameters.model_dump()\n"
            "    print(json.dumps({name: schema['properties']}))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True,
                            text=True, env={**os.environ, **prefect_env}, timeout=120)
    assert result.returncode == 0, result.stderr
    import json

    schemas = {k: v for line in result.stdout.splitlines() for k, v in json.loads(line).items()}
    assert schemas["fan_out"]["sheet"]["type"] == "string"
    assert schemas["tree"]["depth"]["type"] == "integer"
    assert schemas["tree"]["depth"]["default"] == 3
    assert schemas["reports"]["names"]["default"] == "ab,cde"


def test_bridge_does_not_load_prefect_and_says_which_extra_to_install(tmp_path: Path) -> None:
    code = ("import sys\n"
            "import bridge, bridge.cli\n"
            "assert not [m for m in sys.modules if m.startswith('prefect')], 'prefect loaded'\n"
            "sys.modules['prefect'] = None  # as if the extra were not installed\n"
            "sys.argv = ['bridge', 'prefect', 'run', 'workflow.py', 'tree']\n"
            "bridge.cli.main()\n")
    project(tmp_path)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "bridge-workflows[prefect]" in result.stderr
    assert "Traceback" not in result.stderr


def test_cancelling_the_flow_run_stops_a_running_script(prefect_env: dict,
                                                        tmp_path: Path) -> None:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.states import Cancelling

    folder = project(tmp_path)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "PREFECT_"))}
    process = subprocess.Popen([BRIDGE, "prefect", "run", "workflow.py", "sleepy"], cwd=folder,
                               env={**clean, **prefect_env}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_until(_sleeping, "the script's sleep to start")
        with client(prefect_env) as api:
            [running] = api.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(
                any_=["sleepy"])))
            api.set_flow_run_state(running.id, Cancelling(), force=True)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, stderr[-3000:]
    assert not _sleeping()
    assert flow_run(prefect_env, str(running.id)).state_name == "Cancelled"
    log = ok(run(prefect_env, folder, "log", str(running.id)[:8]))
    assert "CANCELLED" in log.stdout


def _sleeping() -> bool:
    found = subprocess.run(["pgrep", "-f", "sleep 317"], capture_output=True, text=True)
    return bool(found.stdout.strip())


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_a_deployment_runs_on_a_process_worker(prefect_env: dict, tmp_path: Path) -> None:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    folder = project(tmp_path / "project")
    prefect = str(Path(sys.executable).with_name("prefect"))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
           **prefect_env}
    pool = subprocess.run([prefect, "work-pool", "create", "bridge-test", "--type", "process"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deployed = ok(run(prefect_env, folder, "prefect", "deploy", "workflow.py", "tree",
                      "--name", "nightly", "--pool", "bridge-test", "--param", "depth=2"))
    assert "tree/nightly" in deployed.stdout
    assert (folder / "prefect_tree.py").exists()  # the entrypoint the worker loads
    subprocess.run([prefect, "deployment", "run", "tree/nightly"], env=env, check=True,
                   capture_output=True, timeout=120)
    worker_home = tmp_path / "elsewhere"
    worker_home.mkdir()
    worker = subprocess.run([prefect, "worker", "start", "--pool", "bridge-test", "--type",
                             "process", "--run-once"], cwd=worker_home, env=env,
                            capture_output=True, text=True, timeout=300)
    assert worker.returncode == 0, worker.stdout + worker.stderr[-3000:]

    with client(prefect_env) as api:
        [deployment] = api.read_deployments(deployment_filter=DeploymentFilter(
            name=DeploymentFilterName(any_=["nightly"])))
        [flow_run_] = api.read_flow_runs(deployment_filter=DeploymentFilter(
            name=DeploymentFilterName(any_=["nightly"])))
    form = deployment.parameter_openapi_schema["properties"]
    assert form["depth"]["type"] == "integer" and form["depth"]["default"] == 3
    assert flow_run_.parameters == {"depth": 2}
    assert flow_run_.state_name == "Completed", worker.stdout + worker.stderr[-3000:]
    assert states(task_runs(prefect_env, str(flow_run_.id), 5)) == sorted(
        [("plus", "Completed")] * 2 + [("tree", "Completed")] * 3)
    assert ran_tasks(folder) == ["plus", "plus", "tree", "tree", "tree"]
    # the worker's run wrote the project's store: bridge run replays it
    assert value(ok(run(prefect_env, folder, "run", "workflow.py", "tree", "--depth", "2"))) \
        == "3"
    assert ran_tasks(folder) == []
