"""The slurm executor on a real single-node SLURM cluster (the session's `slurm` fixture:
munged, slurmctld and slurmd of Debian's slurm-wlm), driven through `bridge run` as a user
runs it. Nothing is mocked: what SLURM recorded for each job is read back with squeue and
scontrol."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from slurm_cluster import SlurmCluster
from workflows import BRIDGE, bridge, ran_tasks, write_workflow

WORKFLOW = """
import os
import time
from bridge import script

bridge_namespace = "slurm_tests"

def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.05)

@task(executor="cluster")
def square(x: int) -> int:
    ran("square")
    return x * x

@task()
def fan_out(n: int) -> list:
    return [square(i) for i in range(n)]

@task()
def sized() -> list:
    return [square.options(vcpus=3, memory=0.75, time="0:07:00")(10),
            square.options(cpus=2, time=12)(11)]

@task()
def shout(text: str) -> str:
    return script(f"echo {text} | tr a-z A-Z; echo $BRIDGE_CPUS > out.txt", executor="cluster",
                  vcpus=2, outputs={"out": File("shouted.txt").stage("out.txt"),
                                    "stdout": File("-")})

@task()
def both(text: str) -> list:
    return [shout(text), fan_out(2)]

@task()
def broken(code: int) -> str:
    return script(f"echo reading lane 7; echo 'lane 7 is truncated' >&2; exit {code}",
                  executor="cluster", outputs=File("-"))

@task(executor="cluster")
def fails(lane: int) -> int:
    print(f"checking lane {lane}", flush=True)
    raise ValueError(f"lane {lane} is truncated")

@task(executor="cluster")
def held(x: int) -> int:
    with open("started.txt", "a") as log:  # the job, or the array this call is a child of
        log.write(os.environ.get("SLURM_ARRAY_JOB_ID", os.environ["SLURM_JOB_ID"]) + "\\n")
    wait_for("release")
    return x + 100

@task(executor="cluster", cache=False)
def marker() -> str:
    open("marker", "w").write(os.environ["SLURM_JOB_ID"])
    return "marked"

@task()
def held_run(x: int) -> list:
    return [held(x), held(x + 1), marker()]
"""


def write_config(folder: Path, prefix: str, extra: str = "") -> None:
    (folder / ".bridge").mkdir(exist_ok=True)
    (folder / ".bridge" / "bridge.ini").write_text(
        f"[executors.cluster]\ntype = slurm\njob_name_prefix = {prefix}\n"
        f"poll_interval = 0.2\n{extra}")


@pytest.fixture
def prefix(slurm: SlurmCluster, workdir: Path) -> str:
    """A job name prefix of the test's own (to tell its jobs apart in the shared queue),
    written into the workdir's bridge.ini with the workflow beside it."""
    name = f"t{uuid.uuid4().hex[:8]}"
    write_config(workdir, name, f"partition = {slurm.partition}\n")
    write_workflow(workdir, WORKFLOW)
    return name


def jobs(slurm: SlurmCluster, prefix: str) -> dict[str, list[str]]:
    """Job id -> the ids of its array children (``["<id>"]`` for a single job) of every job
    this test submitted, finished ones included."""
    out = slurm.run("squeue", "--noheader", "--states=all", "--array",
                    "--Format=ArrayJobID:0|,JobArrayID:0|,Name:0|")
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        job, child, name = line.split("|")[:3]
        if name.startswith(f"{prefix}-"):
            found.setdefault(job, []).append(child)
    return found


def job_fields(slurm: SlurmCluster, job_id: str) -> dict[str, str]:
    """What SLURM recorded for a job (``scontrol show -o job``)."""
    line = slurm.run("scontrol", "show", "-o", "job", job_id).splitlines()[0]
    return dict(word.split("=", 1) for word in line.split() if "=" in word)


def wait_until(check: Callable[[], object], what: str, timeout: float = 60) -> object:
    """Wait for ``check()`` to hold (a file, a queue state); fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def start_run(folder: Path, *args: str, stderr: object = subprocess.PIPE
              ) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    return subprocess.Popen([BRIDGE, "run", "workflow.py", *args], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=stderr, text=True)


def test_a_fan_out_is_one_array_job(slurm: SlurmCluster, workdir: Path, prefix: str) -> None:
    result = bridge(workdir, "run", "workflow.py", "fan_out", "--n", "5")
    assert result.stdout == "[0, 1, 4, 9, 16]\n"
    assert ran_tasks(workdir) == ["square"] * 5
    [(job, children)] = jobs(slurm, prefix).items()
    assert sorted(children) == [f"{job}_{i}" for i in range(5)]


def test_per_call_resources_reach_sbatch(slurm: SlurmCluster, workdir: Path,
                                         prefix: str) -> None:
    write_config(workdir, prefix, f"partition = {slurm.partition}\nmemory = 0.25\n"
                 "sbatch_args = --nice=5\n")
    assert bridge(workdir, "run", "workflow.py", "sized").stdout == "[100, 121]\n"
    recorded = sorted((job_fields(slurm, job) for job in jobs(slurm, prefix)),
                      key=lambda fields: -int(fields["NumCPUs"]))
    assert [(f["NumCPUs"], f["TimeLimit"], f["Partition"], f["Nice"]) for f in recorded] == [
        ("3", "00:07:00", slurm.partition, "5"), ("2", "00:12:00", slurm.partition, "5")]
    # the call's memory (GiB) over the executor's; SLURM names the field by how it was asked
    assert [f.get("MinMemoryNode") for f in recorded] == ["768M", "256M"]


def test_a_python_task_and_a_script_run_and_replay(slurm: SlurmCluster, workdir: Path,
                                                   prefix: str) -> None:
    first = bridge(workdir, "run", "workflow.py", "both", "--text", "hello")
    assert first.stdout == "[{'out': File('shouted.txt'), 'stdout': 'HELLO\\n'}, [0, 1]]\n"
    assert (workdir / "shouted.txt").read_text() == "2\n"  # the script's share: its vcpus
    submitted = jobs(slurm, prefix)
    assert len(submitted) == 2 and ran_tasks(workdir) == ["square"] * 2
    scratch = workdir / ".bridge" / "slurm"  # succeeded calls leave no files behind
    assert [*(scratch / "calls").iterdir(), *(scratch / "logs").iterdir()] == []
    again = bridge(workdir, "run", "workflow.py", "both", "--text", "hello")
    assert again.stdout == first.stdout
    assert jobs(slurm, prefix) == submitted and ran_tasks(workdir) == []  # replayed


def test_a_failed_job_reports_its_exit_code_and_output(slurm: SlurmCluster, workdir: Path,
                                                       prefix: str) -> None:
    result = bridge(workdir, "run", "workflow.py", "broken", "--code", "3", check=False)
    assert result.returncode == 1
    [job] = jobs(slurm, prefix)
    assert f"failed in SLURM job {job} (FAILED, exit code 3)" in result.stderr
    kept = workdir / ".bridge" / "slurm" / "logs" / f"{job}.out"  # a failure's log stays
    assert f"last lines of {kept}" in result.stderr and kept.exists()
    assert "lane 7 is truncated" in result.stderr.split("last lines of")[1]
    assert "Traceback" not in result.stderr
    result = bridge(workdir, "run", "workflow.py", "fails", "--lane", "2", check=False)
    assert result.returncode == 1
    assert "ValueError: lane 2 is truncated" in result.stderr
    assert "exit code 1" in result.stderr and "checking lane 2" in result.stderr


def test_ctrl_c_cancels_the_running_jobs(slurm: SlurmCluster, workdir: Path,
                                         prefix: str) -> None:
    run = start_run(workdir, "held", "--x", "1")
    started = workdir / "started.txt"
    wait_until(started.exists, "the job to start")
    job = started.read_text().split()[0]
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode != 0 and "Traceback" not in stderr
    wait_until(lambda: job_fields(slurm, job)["JobState"] == "CANCELLED",
               "the job to be cancelled")
    assert list(jobs(slurm, prefix)) == [job]


def test_a_held_job_is_reported_and_ctrl_c_cancels_it(slurm: SlurmCluster, workdir: Path,
                                                      prefix: str) -> None:
    write_config(workdir, prefix, "sbatch_args = --hold\n")
    errors = workdir / "stderr.txt"
    with errors.open("w") as stderr:
        run = start_run(workdir, "fan_out", "--n", "3", stderr=stderr)
        said = wait_until(lambda: "JobHeldUser" in errors.read_text() and errors.read_text(),
                          "the warning about the held job")
        run.send_signal(signal.SIGINT)
        run.communicate(timeout=60)
    [job] = jobs(slurm, prefix)
    assert f"SLURM job {job} of executor cluster is pending (JobHeldUser), which it does not " \
           "leave by itself" in str(said)
    wait_until(lambda: job_fields(slurm, job)["JobState"] == "CANCELLED",
               "the held array to be cancelled")
    assert run.returncode != 0 and "Traceback" not in errors.read_text()


def test_a_restarted_run_reattaches_to_its_jobs(slurm: SlurmCluster, workdir: Path,
                                                prefix: str) -> None:
    first = start_run(workdir, "held_run", "--x", "2")
    started, marker = workdir / "started.txt", workdir / "marker"
    wait_until(lambda: marker.exists() and started.exists()
               and len(started.read_text().split()) == 2, "the first run's jobs to start")
    first.kill()
    first.wait()
    marker.unlink()
    second = start_run(workdir, "held_run", "--x", "2")
    # the marker runs anew (cache=False), submitted once the run has looked for its jobs
    wait_until(marker.exists, "the second run's marker job")
    (workdir / "release").touch()
    stdout, stderr = second.communicate(timeout=60)
    assert second.returncode == 0, stderr
    assert stdout == "[102, 103, 'marked']\n"
    [held_job] = [job for job in jobs(slurm, prefix)
                  if job_fields(slurm, job)["JobName"].endswith("held")]
    assert started.read_text().split() == [held_job] * 2  # one array, each child ran once


def test_a_job_that_cannot_start_says_why(slurm: SlurmCluster, workdir: Path,
                                          prefix: str) -> None:
    write_config(workdir, prefix, "sbatch_args = --output=/nonexistent/folder/job.out\n")
    result = bridge(workdir, "run", "workflow.py", "fan_out", "--n", "1", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [job] = jobs(slurm, prefix)
    assert f"SLURM job {job} of slurm_tests.square failed without writing its output " \
           "(FAILED, the node could not start it; the node's slurmd log says why" \
        in result.stderr


@pytest.mark.parametrize(("key", "said"), [
    ("cpus = two", "[executors.cluster] cpus: Input should be a valid integer"),
    ("time = soon", "[executors.cluster] time: Value error, 'soon' is not a SLURM time limit"),
    ("cpus = 2\nvcpus = 2", "cpus and vcpus: give one of them"),
    ("partitions = gpu", "[executors.cluster] partitions: unknown key"),
    ("scratch = /proc/bridge", "[executors.cluster] scratch: cannot make the folder "
                               "/proc/bridge (No such file or directory)"),
])
def test_a_bad_key_is_named(workdir: Path, key: str, said: str) -> None:
    write_config(workdir, "t", key + "\n")
    write_workflow(workdir, WORKFLOW)
    result = bridge(workdir, "run", "workflow.py", "fan_out", "--n", "1", check=False)
    assert result.returncode != 0 and said in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_call_option_is_named(slurm: SlurmCluster, workdir: Path, prefix: str) -> None:
    write_workflow(workdir, WORKFLOW + textwrap.dedent("""
        @task()
        def soon() -> int:
            return square.options(time="soon")(3)
        """))
    result = bridge(workdir, "run", "workflow.py", "soon", check=False)
    assert result.returncode == 1 and jobs(slurm, prefix) == {}
    assert "task slurm_tests.square: option time: 'soon' is not a SLURM time limit" \
        in result.stderr
