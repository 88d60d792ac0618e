"""The dry-run plan with temporary outputs (`File(...).temp()`): a gone temporary file
replays the calls beneath a parent that runs as in a real run, and the producers the real
run re-runs to make one again are listed; the plan names exactly the calls that then run."""

from __future__ import annotations

from pathlib import Path

from test_dryrun_plan import listed
from test_files_temp import run, setup
from workflows import bridge, ran_tasks, write_workflow

CHAIN = """
@task
def first(out: str) -> File:
    ran("first")
    return File(out).temp().write("abc")

@task
def second(f: File, out: str) -> File:
    ran("second")
    return File(out).temp().write(f.read() * 2)

@task
def third(f: File) -> int:
    ran("third")
    return len(f.read())

@task
def main() -> int:
    ran("main")
    return third(second(first("one.txt"), "two.txt"))
"""


def plan_then_run(folder: Path, task: str) -> tuple[str, list[str]]:
    """The dry run's text and the sorted names of the calls it says would run, checked
    against the calls the real run then runs."""
    text = bridge(folder, "run", "--dryrun", "workflow.py", task).stdout
    would_run = sorted(name for name, _ in listed(text)["WOULD RUN"])
    run(folder, task)
    assert ran_tasks(folder) == would_run, text
    return text, would_run


def test_a_predicted_call_whose_temporary_output_is_gone_replays(workdir: Path) -> None:
    setup(workdir)
    run(workdir, "main")
    ran_tasks(workdir)
    workflow = workdir / "workflow.py"
    workflow.write_text(workflow.read_text().replace('ran("main")', 'ran("main")  # edited'))

    text, would_run = plan_then_run(workdir, "main")

    assert would_run == ["main"], text  # shout's mid.txt is gone, yet shout replays
    assert sorted(name for name, _ in listed(text)["CACHED"]) == ["count", "shout"], text


def test_the_producer_of_a_gone_file_a_running_call_reads_is_listed(workdir: Path) -> None:
    setup(workdir)
    run(workdir, "main")
    ran_tasks(workdir)
    setup(workdir, extra="+ 100")  # count's code changed: it runs, and reads mid.txt

    text, would_run = plan_then_run(workdir, "main")

    assert would_run == ["count", "main", "shout"], text
    assert ("because: the temporary file mid.txt is gone and count(...), which runs, "
            "reads it") in text, text
    assert "not known until those bodies run" not in text, text


def test_a_top_level_result_holding_a_gone_file_names_it(workdir: Path) -> None:
    setup(workdir)
    run(workdir, "keep")
    ran_tasks(workdir)
    (workdir / "kept.txt").unlink()

    text, would_run = plan_then_run(workdir, "keep")

    assert would_run == ["keep", "shout"], text
    assert "because: file changed or missing: kept.txt (in its result)" in text, text
    assert ("because: the temporary file kept.txt is gone and keep(...), which runs, "
            "returns it") in text, text


def test_a_producer_run_again_gets_its_own_gone_input_made_again(workdir: Path) -> None:
    write_workflow(workdir, CHAIN)
    run(workdir, "main")
    ran_tasks(workdir)
    write_workflow(workdir, CHAIN.replace("len(f.read())", "len(f.read()) + 1"))

    text, would_run = plan_then_run(workdir, "main")

    assert would_run == ["first", "main", "second", "third"], text
    assert ("because: the temporary file one.txt is gone and second(...), which runs, "
            "reads it") in text, text
