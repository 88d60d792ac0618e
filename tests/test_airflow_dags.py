"""Exported DAGs run on real Airflow (dag.test() in a subprocess, after one `airflow db
migrate` per session) and leave the cache `bridge run` reads: a DAG run followed by
`bridge run` of the same call runs nothing more and prints the same result."""

from __future__ import annotations

from pathlib import Path

import airflow_helpers
from airflow_helpers import bridge_result, dag_test, export, mapped, states
from workflows import ran_tasks, write_workflow

airflow_home = airflow_helpers.airflow_home  # the session's migrated AIRFLOW_HOME

FAN_OUT = """
@task()
def read_sheet(sheet: File) -> list:
    ran("read_sheet")
    return [line.strip() for line in sheet.open() if line.strip()]

@task()
def align(sample: str) -> str:
    ran("align")
    return sample.upper()

@task()
def align_all(samples: list) -> list:
    ran("align_all")
    return [align(sample) for sample in samples]

@task()
def main(sheet: File, suffix: str = "") -> list:
    ran("main")
    return align_all(read_sheet(sheet))
"""


def _fresh_store(folder: Path) -> None:
    """Forget what the export's recording run cached: the DAG computes from scratch."""
    import shutil

    shutil.rmtree(folder / ".bridge")
    ran_tasks(folder)


def test_a_fan_out_from_a_sample_sheet_maps_as_wide_as_the_sheet(workdir, airflow_home):
    write_workflow(workdir, FAN_OUT)
    (workdir / "samples.csv").write_text("s1\ns2\n")
    dag = export(workdir, "-o", "dags/samples.py", "workflow.py", "main", "--sheet",
                 "samples.csv")
    _fresh_store(workdir)

    run, _ = dag_test(airflow_home, dag)
    assert run["state"] == "success"
    assert mapped(run)["main.align_all.align"] == 2
    assert mapped(run)["main.read_sheet"] == 1
    assert ran_tasks(workdir).count("align") == 2
    assert bridge_result(workdir, "workflow.py", "main", "--sheet", "samples.csv") == \
        "['S1', 'S2']"
    assert ran_tasks(workdir) == []  # fully cached

    # The sheet grows: the same file maps 5 wide and runs only the 3 new samples.
    (workdir / "samples.csv").write_text("s1\ns2\ns3\ns4\ns5\n")
    run, _ = dag_test(airflow_home, dag)
    assert run["state"] == "success"
    assert mapped(run)["main.align_all.align"] == 5
    assert ran_tasks(workdir).count("align") == 3
    assert bridge_result(workdir, "workflow.py", "main", "--sheet", "samples.csv") == \
        "['S1', 'S2', 'S3', 'S4', 'S5']"
    assert ran_tasks(workdir) == []


RECURSION = """
@task()
def countdown(n: int, acc: int = 0) -> int:
    ran("countdown")
    if n == 0:
        return acc
    return countdown(n - 1, acc + n)
"""


def test_a_recursion_maps_level_by_level_and_a_deeper_run_finishes_in_the_groups(
        workdir, airflow_home):
    write_workflow(workdir, RECURSION)
    dag = export(workdir, "-o", "dags/countdown.py", "workflow.py", "countdown", "--n", "2")
    text = dag.read_text()
    assert 'params={"n": 2, "acc": 0}' in text
    _fresh_store(workdir)

    run, _ = dag_test(airflow_home, dag)
    assert run["state"] == "success"
    assert states(run)[("countdown.countdown.countdown", 0)] == "success"
    assert ran_tasks(workdir).count("countdown") == 3 + 2  # parents run again to finish
    assert bridge_result(workdir, "workflow.py", "countdown", "--n", "2") == "3"
    assert ran_tasks(workdir) == []

    # A run's conf overrides the param: n=4 recurses deeper than the exported tree.
    run, _ = dag_test(airflow_home, dag, {"n": 4})
    assert run["state"] == "success"
    # 5 new calls; the 2 exported parent positions ran their bodies again to finish
    assert ran_tasks(workdir).count("countdown") == 5 + 2
    assert bridge_result(workdir, "workflow.py", "countdown", "--n", "4") == "10"
    assert ran_tasks(workdir) == []


CATCH_AND_FILES = """
from bridge import Scheduler

@task()
def check(lane: int) -> int:
    ran("check")
    if lane == 2:
        raise ValueError(f"lane {lane} is truncated")
    return lane

@task()
def skip_lane(error: Exception) -> int:
    ran("skip_lane")
    return -1

@task()
def write_lane(lane: int) -> File:
    ran("write_lane")
    out = File(f"out/lane{lane}.txt")
    out.write(f"lane {lane}\\n")
    return out

@task()
def merge(parts: list) -> File:
    ran("merge")
    out = File("out/merged.txt")
    out.write("".join(part.read() for part in parts))
    return out

@task()
def main(lanes: int = 3) -> dict:
    ran("main")
    checked = [catch(check(lane), ValueError, skip_lane) for lane in range(lanes)]
    return {"checked": checked, "merged": merge([write_lane(lane) for lane in range(lanes)])}
"""


def test_a_catch_recovers_and_files_flow_through(workdir, airflow_home):
    write_workflow(workdir, CATCH_AND_FILES)
    dag = export(workdir, "-o", "dags/lanes.py", "workflow.py", "main")
    _fresh_store(workdir)
    (workdir / "out").mkdir(exist_ok=True)
    for old in (workdir / "out").iterdir():
        old.unlink()

    run, output = dag_test(airflow_home, dag)
    assert run["state"] == "success"  # the workflow recovered
    found = states(run)
    assert found[("main.check", 2)] == "failed"
    assert "lane 2 is truncated" in output
    assert found[("main.check", 0)] == found[("main.check", 1)] == "success"
    assert found[("main.skip_lane", -1)] == "skipped"  # recovery runs in the finish step
    assert found[("main.finish", -1)] == "success"
    assert mapped(run)["main.write_lane"] == 3
    assert (workdir / "out/merged.txt").read_text() == "lane 0\nlane 1\nlane 2\n"
    ran_tasks(workdir)
    printed = bridge_result(workdir, "workflow.py", "main")
    assert "'checked': [0, 1, -1]" in printed and "merged.txt" in printed
    assert ran_tasks(workdir) == []
