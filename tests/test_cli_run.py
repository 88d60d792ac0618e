"""`bridge run` through click's runner: arguments from type hints, options, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cli_helpers import assert_user_error, invoke, subprocess_env, write_workflow


def test_lists_tasks_and_shows_task_help(workdir: Path) -> None:
    write_workflow(workdir)
    listed = invoke("run", "wf.py")
    assert listed.exit_code == 0
    assert "three.main" in listed.output and "Run the three steps." in listed.output
    helped = invoke("run", "wf.py", "kinds", "--help")
    assert helped.exit_code == 0
    assert "Echo the arguments' types and values." in helped.output
    assert "--count" in helped.output and "int (required)" in helped.output
    assert "red|blue" in helped.output and "--verbose / --no-verbose" in helped.output
    assert "Dir | None" in helped.output and "bridge.native" not in helped.output
    assert "bridge run" in invoke("run", "--help").output


def test_arguments_are_parsed_from_type_hints(workdir: Path) -> None:
    write_workflow(workdir)
    result = invoke("run", "wf.py", "kinds", "--count", "3", "--ratio=0.5", "--names", "a,b",
                    "--names", "c", "--path", "in.txt", "--color", "blue", "--verbose",
                    "--limit", "7")
    assert result.exit_code == 0, result.output
    assert "3 0.5 ['a', 'b', 'c'] File:in.txt blue True 7 None no folder" in result.stdout
    others = invoke("run", "wf.py", "kinds", "--count", "3", "--ratio=0.5", "--names", "a",
                    "--path", "in.txt", "--color", "red", "--no-verbose", "--sizes", "1,20",
                    "--folder", "lanes", "--limit", "none")
    assert others.exit_code == 0, others.output
    assert "3 0.5 ['a'] File:in.txt red False None [1, 20] Dir:lanes" in others.stdout
    spelled = invoke("run", "wf.py", "kinds", "--count", "3", "--ratio=0.5", "--names", "a",
                     "--verbose", "false", "--path", "in.txt", "--color", "red")
    assert spelled.exit_code == 0, spelled.output  # a bool flag's value as its own token
    assert "3 0.5 ['a'] File:in.txt red False None" in spelled.stdout
    assert_user_error(invoke("run", "wf.py", "kinds", "--count", "3", "--ratio=0.5", "--names",
                             "a", "--path", "p", "--color", "red", "--sizes", "1,x"),
                      "--sizes", "x")


def test_dates_and_times_are_given_in_iso_8601(workdir: Path) -> None:
    (workdir / "dates.py").write_text(
        "import datetime\nfrom bridge import task\n\nbridge_namespace = 'dates'\n\n"
        "@task()\n"
        "def when(at: datetime.datetime, day: datetime.date, time: datetime.time | None = None"
        ") -> str:\n"
        "    return f'{at.isoformat()} {day.isoformat()} {time}'\n")
    result = invoke("run", "dates.py", "when", "--at", "2022-07-01 10:05:33 +0400",
                    "--day", "2022-07-02", "--time", "08:30")
    assert result.exit_code == 0, result.output
    assert "2022-07-01T10:05:33+04:00 2022-07-02 08:30:00" in result.stdout
    assert_user_error(invoke("run", "dates.py", "when", "--at", "yesterday", "--day", "2022-07-02"),
                      "--at", "datetime", "'yesterday'", "ISO 8601")


def test_dashes_and_underscores_and_a_module_path(workdir: Path) -> None:
    write_workflow(workdir)
    dashed = invoke("run", "-m", "wf", "main", "--n", "3", "--out-dir", "o1")
    assert dashed.exit_code == 0, dashed.output
    assert "'sum': 5" in dashed.stdout
    underscored = invoke("run", "wf.py", "main", "--n", "3", "--out_dir", "o1")
    assert underscored.exit_code == 0
    all_row = next(line for line in underscored.output.splitlines() if "| ALL" in line)
    assert all_row.split()[-6:] == ["0", "0", "0", "4", "0", "4"]  # the same call, replayed
    # a task's name too: where-am-i is where_am_i, and an unknown one is named as typed
    assert invoke("run", "wf.py", "where-am-i").exit_code == 0
    assert_user_error(invoke("run", "wf.py", "where-are-we"), "'where-are-we'", "where_am_i")


def test_final_status_table_counts_done_then_cached(workdir: Path) -> None:
    write_workflow(workdir)
    first = invoke("run", "wf.py", "main", "--n", "3")
    assert first.exit_code == 0, first.output
    all_row = next(line for line in first.output.splitlines() if "| ALL" in line)
    assert all_row.split()[-6:] == ["0", "0", "0", "0", "4", "4"]  # P R F C D TOTAL
    assert "Execution duration" in first.output
    again = invoke("run", "wf.py", "main", "--n", "3")
    all_row = next(line for line in again.output.splitlines() if "| ALL" in line)
    # one replayed parent, counted with the three calls it stands for, as a walk would
    assert all_row.split()[-6:] == ["0", "0", "0", "4", "0", "4"]
    forced = invoke("run", "--no-cache", "wf.py", "main", "--n", "3")
    all_row = next(line for line in forced.output.splitlines() if "| ALL" in line)
    assert all_row.split()[-6:] == ["0", "0", "0", "0", "4", "4"]


def test_dryrun_says_what_would_run_and_why(workdir: Path) -> None:
    write_workflow(workdir)
    never = invoke("run", "--dryrun", "wf.py", "main", "--n", "3")
    assert never.exit_code == 0
    assert "WOULD RUN  three.main(n=3)" in never.output
    assert "the task never ran" in never.output
    assert "not known until those bodies run" in never.output
    assert "No executions" in invoke("log").output  # nothing was recorded
    invoke("run", "wf.py", "main", "--n", "3")
    cached = invoke("run", "--dryrun", "wf.py", "main", "--n", "3")
    assert "CACHED     three.main(n=3)" in cached.output and "0 call(s) would run" in cached.output
    changed = invoke("run", "--dryrun", "wf.py", "main", "--n", "4")
    assert "new argument values: n" in changed.output
    Path("out/squares.txt").write_text("edited by hand\n")
    edited = invoke("run", "--dryrun", "wf.py", "main", "--n", "3")
    assert "file changed or missing: out/squares.txt" in edited.output
    disabled = invoke("run", "--dryrun", "--no-cache", "wf.py", "main", "--n", "3")
    assert "cache disabled (--no-cache)" in disabled.output


def test_dryrun_names_a_changed_task(workdir: Path) -> None:
    path = write_workflow(workdir)
    invoke("run", "wf.py", "main", "--n", "3")
    path.write_text(path.read_text().replace("int(x) ** 2", "int(x) * int(x)"))
    result = invoke("run", "--dryrun", "wf.py", "main", "--n", "3")
    assert "task code changed beneath it: three.square" in result.output


def test_execution_id_tags_and_task_options(workdir: Path) -> None:
    write_workflow(workdir)
    result = invoke("run", "--execution-id", "my-run-1", "--tag", "project=demo",
                    "-o", "memory=2", "wf.py", "main", "--n", "2")
    assert result.exit_code == 0, result.output
    assert "my-run-1" in result.output
    shown = json.loads(invoke("log", "my-run-1", "--format", "json").output)
    assert shown["execution_id"] == "my-run-1" and shown["tags"] == {"project": "demo"}
    again = invoke("run", "--execution-id", "my-run-1", "wf.py", "main")
    assert_user_error(again, "my-run-1", "already recorded")
    unknown = invoke("run", "-o", "executor=nowhere", "wf.py", "main", "--n", "9")
    assert_user_error(unknown, "nowhere", "[executors.nowhere]")
    assert_user_error(invoke("run", "-o", "memory", "wf.py", "main"), "-o", "key=value")


def test_a_task_option_reaches_the_call(workdir: Path) -> None:
    write_workflow(workdir)
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text(
        "[executors.procs]\ntype = local\nmode = processes\nmax_workers = 1\n")
    here = invoke("run", "wf.py", "where_am_i")
    assert here.exit_code == 0, here.output
    assert int(here.stdout.strip().splitlines()[-1]) == os.getpid()
    there = invoke("run", "--no-cache", "-o", "executor=procs", "wf.py", "where_am_i")
    assert there.exit_code == 0, there.output
    assert int(there.stdout.strip().splitlines()[-1]) != os.getpid()
    [job] = json.loads(invoke("log", "-", "--format", "json").output)["jobs"]
    shown = json.loads(invoke("log", job["job_id"], "--format", "json").output)
    assert shown["executor"] == "procs"


def test_a_failing_task_shows_its_error_and_exits_1(workdir: Path) -> None:
    write_workflow(workdir)
    result = invoke("run", "wf.py", "boom", "--message", "kaput")
    assert result.exit_code == 1
    assert "three.boom FAILED" in result.output and "ValueError: kaput" in result.output
    all_row = next(line for line in result.output.splitlines() if "| ALL" in line)
    assert all_row.split()[-6:] == ["0", "0", "1", "0", "0", "1"]
    failed = json.loads(invoke("log", "--status", "FAILED", "--format", "json").output)["jobs"]
    shown = invoke("log", failed[0]["job_id"][:8]).output
    assert "Error:" in shown and "ValueError: kaput" in shown and "raise ValueError" in shown


def test_bad_inputs_get_one_clear_line(workdir: Path) -> None:
    write_workflow(workdir)
    assert_user_error(invoke("run", "nope.py", "main"), "nope.py")
    assert_user_error(invoke("run", "-m", "no_such_module", "main"), "no_such_module")
    assert_user_error(invoke("run", "wf.py", "nothing"), "nothing", "three.main")
    assert_user_error(invoke("run", "wf.py", "main", "--n", "many"), "--n", "int", "many")
    assert_user_error(invoke("run", "wf.py", "main", "--bogus", "1"), "--bogus")
    assert_user_error(invoke("run", "wf.py", "kinds", "--count", "1"), "needs", "--ratio")
    assert_user_error(invoke("run", "wf.py", "kinds", "--count", "1", "--ratio", "1",
                             "--names", "a", "--path", "p", "--color", "green"),
                      "--color", "red, blue")
    assert_user_error(invoke("run"), "workflow")
    (workdir / "broken.py").write_text("import os\n\nraise RuntimeError('no data')\n")
    assert_user_error(invoke("run", "broken.py", "main"), "broken.py", "line 3", "no data")


def test_config_errors_name_the_key_and_the_file(workdir: Path) -> None:
    write_workflow(workdir)
    config = workdir / ".bridge"
    config.mkdir()
    ini = config / "bridge.ini"
    ini.write_text("[backend]\ndb_urii = sqlite:///x.db\n")
    assert_user_error(invoke("run", "wf.py", "main"), "db_urii", "bridge.ini", "unknown key")
    ini.write_text("[bakend]\n")
    assert_user_error(invoke("run", "wf.py", "main"), "[bakend]", "bridge.ini")
    ini.write_text("[executors.x]\ntype = teleport\n")
    assert_user_error(invoke("run", "wf.py", "main"), "[executors.x] type", "teleport",
                      "unknown executor type", "bridge.ini")
    # the file's own syntax: one line each, naming the line
    for text, words in (
            ("[backend]\ninline_limit = 1\n[backend]\n", ("line 3", "[backend] appears twice")),
            ("[backend]\ninline_limit = 1\ninline_limit = 2\n", ("line 3", "set twice")),
            ("stray\n[backend]\n", ("line 1", "'stray'", "before any [section]")),
            ("[backend]\nstray words\n", ("line 2", "'stray words'", "key = value"))):
        ini.write_text(text)
        assert_user_error(invoke("run", "wf.py", "main"), "bridge.ini", *words)


def test_bridge_config_and_db_uri_overrides(workdir: Path, tmp_path_factory) -> None:
    write_workflow(workdir)
    other = tmp_path_factory.mktemp("elsewhere")
    result = invoke("run", "wf.py", "main", "--n", "2", env={"BRIDGE_CONFIG": str(other)})
    assert result.exit_code == 0
    assert (other / "bridge.db").exists() and not (workdir / ".bridge" / "bridge.db").exists()
    db = other / "override.db"
    invoke("run", "wf.py", "main", "--n", "2", env={"BRIDGE_DB_URI": f"sqlite:///{db}"})
    assert db.exists()
    listed = invoke("log", env={"BRIDGE_DB_URI": f"sqlite:///{db}"})
    assert listed.output.count("Exec ") == 1


def test_a_relative_db_uri_is_one_store_for_run_the_python_api_and_log(workdir: Path) -> None:
    """A relative SQLite BRIDGE_DB_URI is taken from the config folder, as a relative
    db_uri in bridge.ini is: `bridge run`, a script's `Scheduler()` and `bridge log` all
    use that one file (run and a script once used the working directory, log the folder)."""
    write_workflow(workdir)
    env = {"BRIDGE_DB_URI": "sqlite:///team.db"}
    assert invoke("run", "wf.py", "main", "--n", "2", env=env).exit_code == 0
    (workdir / "script.py").write_text(
        "from bridge import Scheduler\nimport wf\n\nScheduler().run(wf.main(3))\n")
    subprocess.run([sys.executable, "script.py"], cwd=workdir, check=True,
                   env=subprocess_env(**env))
    assert (workdir / ".bridge" / "team.db").exists()
    assert not (workdir / "team.db").exists()
    assert invoke("log", env=env).output.count("Exec ") == 2


def test_a_failure_is_shown_where_it_started_not_at_every_parent(workdir: Path) -> None:
    (workdir / "nested.py").write_text(
        "from bridge import task\n\n"
        "@task(namespace='nested')\n"
        "def leaf(x: int) -> int:\n"
        "    raise ValueError(f'leaf {x} broke')\n\n"
        "@task(namespace='nested')\n"
        "def middle(x: int) -> int:\n"
        "    return leaf(x)\n\n"
        "@task(namespace='nested')\n"
        "def top(x: int = 1) -> int:\n"
        "    return middle(x)\n"
    )
    result = invoke("run", "nested.py", "top")
    assert result.exit_code == 1
    assert result.output.count("FAILED:") == 1
    assert "nested.leaf FAILED:" in result.output
    assert "nested.middle FAILED:" not in result.output
    assert result.output.splitlines()[-1].startswith("Error: execution")


def test_a_workflow_lists_its_own_tasks_when_another_of_its_name_was_loaded(
        tmp_path: Path) -> None:
    """Two projects' `wf.py` loaded in one process (a notebook, a test session): each
    module's tasks are its own, not those the other `wf` defined first."""
    from bridge.loading import load_workflow, workflow_tasks

    names = {}
    for project, task_name in (("one", "first"), ("two", "second")):
        folder = tmp_path / project
        folder.mkdir()
        (folder / "wf.py").write_text(
            f"from bridge import task\n\n@task\ndef {task_name}() -> int:\n    return 1\n")
        names[project] = [t.name for t in workflow_tasks(load_workflow(str(folder / "wf.py")))]
    assert names == {"one": ["first"], "two": ["second"]}



def test_a_workflow_runs_its_own_task_when_another_module_defined_one_of_that_name(
        tmp_path: Path) -> None:
    """A task named ``main`` with no namespace, loaded earlier in the process, does not
    stand in for the ``main`` of the file being run (namespaced ``two.main``)."""
    from bridge.loading import find_task, load_workflow

    tasks = {}
    for project, namespace in (("one", ""), ("two", "two")):
        folder = tmp_path / project
        folder.mkdir()
        (folder / f"{project}_wf.py").write_text(
            f"from bridge import task\n\nbridge_namespace = {namespace!r}\n\n"
            f"@task\ndef main() -> str:\n    return {project!r}\n")
        module = load_workflow(str(folder / f"{project}_wf.py"))
        tasks[project] = find_task(module, "main").fullname
    assert tasks == {"one": "main", "two": "two.main"}

def test_a_result_is_printed_as_pprint_lays_it_out() -> None:
    from pprint import pformat

    from bridge.cli.run import result_text

    results = [list(range(1000)), tuple(range(300)), [0.5, None, True] * 40, [7] * 5, (1,),
               (), [], [10**120, 1], [1, "a"] * 60, {"a": list(range(50))}, [[1, 2]] * 40]
    for result in results:
        assert result_text(result) == pformat(result, width=100, sort_dicts=False), result
