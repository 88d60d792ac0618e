"""The docker executor against a real Docker engine (dockerd started by docker_engine.py),
with images built locally: calls run in containers and come back as if run locally."""

from __future__ import annotations

import socket
import subprocess
import textwrap
from pathlib import Path

import pytest

from bridge import File, Scheduler
from bridge.loading import load_workflow
from docker_engine import base_image, docker_engine, worker_image  # noqa: F401 (fixtures)

WORKFLOW = textwrap.dedent(
    """
    import os
    import socket
    from bridge import task, script, File

    bridge_namespace = "docker_tests"

    def cgroup(*candidates):
        for path in candidates:
            if os.path.exists(path):
                return open(path).read().strip()
        return "?"

    @task(executor="docker")
    def inside(x: int) -> dict:
        import bridge
        return {"double": 2 * x, "bridge": bridge.__file__, "cwd": os.getcwd(),
                "host": socket.gethostname()}

    @task()
    def fan_out(n: int) -> list:
        return [inside(i) for i in range(n)]

    @task(executor="docker")
    def limits() -> dict:
        return {"memory": cgroup("/sys/fs/cgroup/memory.max",
                                 "/sys/fs/cgroup/memory/memory.limit_in_bytes"),
                "cpu": cgroup("/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us")}

    @task(executor="docker")
    def fails(message: str) -> None:
        print("about to fail: checking the input", flush=True)
        raise ValueError(message)

    @task(executor="docker")
    def dies() -> None:
        print("the container is going down", flush=True)
        os._exit(3)

    @task()
    def count_words(text: File, out: str) -> dict:
        return script(
            "wc -w < in.txt > count.txt; echo counted with $BRIDGE_CPUS $BRIDGE_MEMORY_GB "
            "on $(hostname); "
            "test -z \\"$(command -v bridge)\\"",
            executor="docker",
            inputs=[text.stage("in.txt")],
            outputs={"count": File(out).stage("count.txt"), "stdout": File("-")},
        )
    """
)


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("docker_workflow")
    path = folder / "docker_workflow.py"
    path.write_text(WORKFLOW)
    return load_workflow(str(path))


@pytest.fixture
def run(workdir: Path, worker_image: str):  # noqa: F811
    def run(expr, image: str = worker_image, **options):
        config = {"executors": {"docker": {"type": "docker", "image": image, **options}}}
        with Scheduler(config=config) as scheduler:
            return scheduler.run(expr)

    return run


def test_python_tasks_run_in_containers_with_the_workflow_code(workflow, run, workdir):
    results = run(workflow.fan_out(3))
    assert [r["double"] for r in results] == [0, 2, 4]
    for result in results:
        assert result["host"] != socket.gethostname()  # a container's own host name
        assert result["bridge"].startswith("/opt/bridge/site-packages/")  # the image's bridge
        assert result["cwd"] == str(workdir)  # the working directory is mounted in place


def test_a_second_run_replays_from_the_cache(workflow, run):
    first = run(workflow.inside(21))
    assert run(workflow.inside(21)) == first
    with Scheduler() as scheduler:
        execution = scheduler.store.find_executions(limit=1)[0]
        jobs = scheduler.store.execution_graph(execution["execution_id"]).jobs
    assert [job["status"] for job in jobs] == ["CACHED"]


def test_resource_options_reach_the_container(workflow, run):
    limits = run(workflow.limits.options(memory=0.25, vcpus=0.5)())
    assert limits["memory"] == str(256 * 1024 * 1024)
    assert limits["cpu"].split()[0] == "50000"  # half of the 100000 period


def test_a_failing_body_fails_its_call_with_the_log_tail(workflow, run):
    with pytest.raises(ValueError, match="bad input") as raised:
        run(workflow.fails("bad input"))
    notes = "\n".join(getattr(raised.value, "__notes__", []))
    assert "about to fail: checking the input" in notes


def test_a_dying_container_fails_its_call_with_the_log_tail(workflow, run):
    with pytest.raises(Exception, match="exited with code 3") as raised:
        run(workflow.dies())
    assert "the container is going down" in "\n".join(raised.value.__notes__)


def test_script_tasks_run_in_an_image_without_bridge(workflow, run, workdir, base_image):  # noqa: F811
    no_bridge = subprocess.run(["docker", "run", "--rm", base_image, "python3", "-c",
                                "import bridge"], capture_output=True)
    assert no_bridge.returncode != 0
    (workdir / "words.txt").write_text("one two three four\n")
    result = run(workflow.count_words(File(str(workdir / "words.txt")), "out/count.txt"),
                 image=base_image, vcpus=2, memory=0.5)
    assert result["stdout"].startswith("counted with 2 0.5 on ")  # the section's share
    assert result["stdout"].split()[-1] != socket.gethostname()  # ran in the container
    assert result["count"].path == "out/count.txt"
    assert (workdir / "out/count.txt").read_text().strip() == "4"
