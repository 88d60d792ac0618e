"""The dry run's plan of a nested workflow: beneath a parent that would run, the calls
its body made last time, each predicted to run or replay with the reason, are exactly the
calls the real run then runs; and nothing is recorded."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from pathlib import Path

from workflows import bridge, ran_tasks, write_workflow

NESTED = """
@task
def make_ref(out: str) -> File:
    ran("make_ref")
    return File(out).write("ACGT")

@task
def index_ref(ref: File) -> int:
    ran("index_ref")
    return len(ref.read())

@task
def prepare(out: str) -> dict:
    ran("prepare")
    ref = make_ref(out)
    return {"ref": ref, "size": index_ref(ref)}

@task
def shout(data: File, out: str) -> File:
    ran("shout")
    return File(out).write(data.read().upper())

@task
def count_words(data: File) -> int:
    ran("count_words")
    return len(data.read().split())

@task
def length(data: File) -> int:
    ran("length")
    return len(data.read())

@task
def per_sample(name: str, data: File, ref: File) -> dict:
    ran("per_sample")
    loud = shout(data, f"out/{name}.txt")
    return {"words": count_words(data), "loud": length(loud), "ref": ref}

@task
def main(names: list) -> dict:
    ran("main")
    prep = prepare("out/ref.txt")
    return {name: per_sample(name, File(f"in/{name}.txt"), prep["ref"]) for name in names}
"""
ARGS = ("workflow.py", "main", "--names", '["x", "y"]')
LINE = re.compile(r"^ +(WOULD RUN|CACHED) +(\w+)\(.*?\)(  \(predicted\))?$")


def recorded(folder: Path) -> tuple[int, int]:
    """How many executions and jobs the store holds."""
    with sqlite3.connect(folder / ".bridge" / "bridge.db") as db:
        return (db.execute("select count(*) from executions").fetchone()[0],
                db.execute("select count(*) from jobs").fetchone()[0])


def listed(text: str) -> dict[str, list[tuple[str, bool]]]:
    """{status: [(task, predicted), ...]} of the dry run's lines."""
    found: dict[str, list[tuple[str, bool]]] = {"WOULD RUN": [], "CACHED": []}
    for line in text.splitlines():
        match = LINE.match(line)
        if match:
            found[match[1]].append((match[2], bool(match[3])))
    return found


def test_the_plan_lists_exactly_the_calls_that_then_run(tmp_path: Path) -> None:
    write_workflow(tmp_path, NESTED)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.txt").write_text("a b c\n")
    (tmp_path / "in" / "y.txt").write_text("d e\n")
    bridge(tmp_path, "run", *ARGS)
    assert len(ran_tasks(tmp_path)) == 12
    (tmp_path / "in" / "x.txt").write_text("a b c d\n")  # one leaf's input edited
    before = recorded(tmp_path)

    text = bridge(tmp_path, "run", "--dryrun", "--viz", "plan.dot", *ARGS).stdout

    assert recorded(tmp_path) == before  # nothing recorded
    plan = listed(text)
    assert plan["WOULD RUN"][0] == ("main", False)  # the engine's own: not predicted
    assert all(predicted for _, predicted in plan["WOULD RUN"][1:])
    would_run = sorted(name for name, _ in plan["WOULD RUN"])
    assert would_run == ["count_words", "length", "main", "per_sample", "shout"], text
    assert sorted(name for name, _ in plan["CACHED"]) == ["per_sample", "prepare"], text
    for reason in ("file changed or missing: in/x.txt",
                   "input file changed or missing: in/x.txt (argument data)",
                   "its input data comes from shout(...), which runs"):
        assert f"because: {reason}" in text, text
    assert "calls beneath it predicted from its last run (job " in text
    assert "5 call(s) would run (4 of them predicted), 2 would be replayed" in text
    dot = (tmp_path / "plan.dot").read_text()
    assert re.search(r'label="length\\nWOULD RUN \(predicted\)"[^]]*dashed', dot), dot
    assert re.search(r'-> "call\d+" \[label="data"\]', dot), dot  # shout -> length

    bridge(tmp_path, "run", *ARGS)
    assert ran_tasks(tmp_path) == would_run


def test_a_parent_whose_code_changed_says_its_calls_may_differ(tmp_path: Path) -> None:
    path = write_workflow(tmp_path, NESTED)
    (tmp_path / "in").mkdir()
    for name in ("x", "y"):
        (tmp_path / "in" / f"{name}.txt").write_text("a b\n")
    bridge(tmp_path, "run", *ARGS)
    ran_tasks(tmp_path)
    path.write_text(path.read_text().replace('ran("per_sample")', 'ran("per_sample")  # !'))

    text = bridge(tmp_path, "run", "--dryrun", *ARGS).stdout

    plan = listed(text)
    assert Counter(name for name, _ in plan["WOULD RUN"]) == {"main": 1, "per_sample": 2}, text
    assert "task code changed beneath it: per_sample" in text, text
    assert "because: task code changed since the cached call" in text, text
    assert "with other code: its calls may differ now" in text, text
    assert Counter(name for name, _ in plan["CACHED"]) == {
        "prepare": 1, "count_words": 2, "shout": 2, "length": 2}, text
    bridge(tmp_path, "run", *ARGS)
    assert ran_tasks(tmp_path) == ["main", "per_sample", "per_sample"]


def test_viz_options_that_cannot_work_get_one_clear_line(tmp_path: Path) -> None:
    write_workflow(tmp_path, NESTED)
    without = bridge(tmp_path, "run", "--viz", "plan.svg", *ARGS, check=False)
    assert without.returncode == 2 and "add --dryrun" in without.stderr
    suffix = bridge(tmp_path, "viz", "--dryrun", "-o", "plan.jpg", *ARGS, check=False)
    assert suffix.returncode == 2 and ".svg" in suffix.stderr
    no_output = bridge(tmp_path, "viz", "--dryrun", *ARGS, check=False)
    assert no_output.returncode == 2 and "needs -o FILE" in no_output.stderr
    assert "Traceback" not in without.stderr + suffix.stderr + no_output.stderr


def test_viz_dryrun_takes_every_spelling_of_its_output_option(tmp_path: Path) -> None:
    write_workflow(tmp_path, NESTED)
    for spelling in (["--output=plan1.dot"], ["-oplan2.dot"], ["--output", "plan3.dot"]):
        shown = bridge(tmp_path, "viz", "--dryrun", *spelling, *ARGS).stdout
        assert "WOULD RUN  main(names=['x', 'y'])" in shown, shown
    for name in ("plan1.dot", "plan2.dot", "plan3.dot"):
        assert 'label="main\\nWOULD RUN"' in (tmp_path / name).read_text()


def test_a_predicted_call_keeps_its_secret_arguments_out_of_the_plan(tmp_path: Path) -> None:
    write_workflow(tmp_path, """
    @task
    def fetch(url: str, api_token: str) -> str:
        ran("fetch")
        return url + "?" + str(len(api_token))

    @task
    def main(url: str, api_token: str) -> str:
        ran("main")
        return fetch(url, api_token)
    """)
    bridge(tmp_path, "run", "workflow.py", "main", "--url", "u", "--api-token", "hunter2")
    text = bridge(tmp_path, "run", "--dryrun", "workflow.py", "main", "--url", "v",
                  "--api-token", "hunter2").stdout
    assert "WOULD RUN  fetch(url='u', api_token=***)  (predicted)" in text, text
    assert "because: its input url is main(...)'s argument url, which changed" in text, text
    assert "hunter2" not in text


def test_a_recursion_thousands_of_calls_deep_is_planned(tmp_path: Path) -> None:
    write_workflow(tmp_path, """
    import atexit, sys

    atexit.register(lambda: print("recursion limit", sys.getrecursionlimit()))

    @task
    def countdown(n: int, data: File) -> int:
        return len(data.read()) if n == 0 else countdown(n - 1, data)

    @task
    def main(path: str = "in.txt") -> int:
        return countdown(1500, File(path))
    """)
    (tmp_path / "in.txt").write_text("abc\n")
    bridge(tmp_path, "run", "workflow.py", "main")
    (tmp_path / "in.txt").write_text("abcd\n")  # the leaf's input: every call runs

    text = bridge(tmp_path, "run", "--dryrun", "workflow.py", "main").stdout

    assert "1502 call(s) would run (1501 of them predicted)" in text, text[-2000:]
    assert len(listed(text)["WOULD RUN"]) == 1502
    assert "countdown(n=0, data=File('in.txt'))  (predicted)  (depth 1501)" in text
    assert "recursion limit 1000" in text  # the plan needs no deeper Python stack
