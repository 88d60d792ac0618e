"""The `bridge` command as a redun user meets it: redun's examples (our own workflows in
their spirit, tests/redun_style/) run through `bridge run`, and redun's command-line and
config habits (`help`, space-separated lists, Enum names, the `process` executor,
`--setup`, `.redun/redun.ini`, `console`) work or say in one line what to do."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Any

from cli_helpers import assert_user_error, invoke
from workflows import bridge, ran_tasks

EXAMPLES = Path(__file__).parent / "redun_style"


def example(name: str, folder: Path) -> Path:
    """Copy one of tests/redun_style/ into ``folder`` as workflow.py."""
    return Path(shutil.copy(EXAMPLES / name / "workflow.py", folder / "workflow.py"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def result_of(run: Any) -> Any:
    return ast.literal_eval(run.stdout.strip())


def run_then_cached(folder: Path, *args: str) -> tuple[Any, list[str]]:
    """``bridge run workflow.py ARGS`` twice: the first run's result and the bodies it
    ran; the second must run none."""
    result = result_of(bridge(folder, "run", "workflow.py", *args))
    ran = ran_tasks(folder)
    assert result_of(bridge(folder, "run", "workflow.py", *args)) == result
    assert ran_tasks(folder) == []
    return result, ran


def test_hello_world_example(workdir: Path) -> None:
    workflow = example("01_hello_world", workdir)
    listed = bridge(workdir, "run", "workflow.py", "help").stdout
    assert "redun_style.hello.main" in listed and "Greet by name." in listed
    helped = bridge(workdir, "run", "workflow.py", "main", "help").stdout
    assert "--salutation" in helped and "default 'Hello'" in helped
    assert run_then_cached(workdir, "main") == ("Hello, Bridge!",
                                                ["compose", "main", "pick_name"])
    hi = bridge(workdir, "run", "workflow.py", "main", "--salutation", "Hi")
    assert result_of(hi) == "Hi, Bridge!"
    assert ran_tasks(workdir) == ["compose", "main"]  # pick_name's call is cached
    edit(workflow, 'return "Bridge"', 'return "World"')
    assert result_of(bridge(workdir, "run", "workflow.py", "main")) == "Hello, World!"
    assert ran_tasks(workdir) == ["compose", "main", "pick_name"]


def test_enum_example_by_name_by_value_and_as_redun_prints_it(workdir: Path) -> None:
    workflow = example("enum", workdir)
    helped = bridge(workdir, "run", "workflow.py", "main", "help").stdout
    assert "circle|square|triangle" in helped
    assert run_then_cached(workdir, "main") == ("a square has 4 corners",
                                                ["corners", "describe", "main"])
    circle = bridge(workdir, "run", "workflow.py", "main", "--shape", "circle")
    assert result_of(circle) == "a circle has 0 corners"
    assert ran_tasks(workdir) == ["corners", "describe", "main"]
    # the same member, named as redun prints it and by its value: the same cached call
    for spelling in ("Shape.circle", "c"):
        again = bridge(workdir, "run", "workflow.py", "main", "--shape", spelling)
        assert result_of(again) == "a circle has 0 corners"
        assert ran_tasks(workdir) == []
    by_value = bridge(workdir, "run", "workflow.py", "main", "--shape", "3")
    assert result_of(by_value) == "a triangle has 3 corners"
    wrong = bridge(workdir, "run", "workflow.py", "main", "--shape", "hexagon", check=False)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "hexagon" in wrong.stderr and "circle, square, triangle" in wrong.stderr
    ran_tasks(workdir)
    edit(workflow, "Shape.square: 4,", "Shape.square: 40,")
    assert result_of(bridge(workdir, "run", "workflow.py", "main")) == "a square has 40 corners"
    assert ran_tasks(workdir) == ["corners", "describe", "main"]


def test_multiprocess_example_needs_no_config(workdir: Path) -> None:
    example("multiprocess", workdir)
    result, ran = run_then_cached(workdir, "main")
    assert len(ran) == 10 and not (workdir / ".bridge" / "bridge.ini").exists()
    main_pid = result["main"]
    assert [value for _, value in result["cube"]] == [0, 1, 8]
    assert [value for _, value in result["halve"]] == [0, 0, 1]
    assert [value for _, value in result["halve_in_process"]] == [50, 50, 51]
    assert {pid for pid, _ in result["halve"]} == {main_pid}  # threads of bridge's process
    assert main_pid not in {pid for pid, _ in result["cube"] + result["halve_in_process"]}
    bridge(workdir, "run", "workflow.py", "main", "--n", "4")
    assert ran_tasks(workdir) == ["cube:3", "halve:103", "halve:3", "main"]
    # the built-in executor is a name `bridge run -o executor=` knows too
    pid, value = result_of(bridge(workdir, "run", "-o", "executor=process", "workflow.py",
                                  "halve", "--x", "9"))
    assert value == 4 and pid != main_pid


def test_thread_example_fork_and_join(workdir: Path) -> None:
    workflow = example("thread", workdir)
    assert run_then_cached(workdir, "main") == (21, ["finish", "main", "start", "triple"])
    edit(workflow, "return 3 * x", "return 3 * x + 1")
    assert result_of(bridge(workdir, "run", "workflow.py", "main")) == 22
    # the forked call runs beneath start (as in redun, the forking job is its parent), and
    # finish gets the thread with the new value
    assert ran_tasks(workdir) == ["finish", "main", "start", "triple"]


HELP_AND_LISTS = '''
from bridge import task


@task()
def help(times: int = 1) -> str:
    """A task that happens to be called help."""
    return "helped " * times


@task()
def tally(numbers: list[int], labels: list[str] | None = None, shift: int = 0,
          loud: bool = False) -> dict:
    """Sum some numbers."""
    return {"numbers": numbers, "labels": labels, "shift": shift, "loud": loud}
'''


def test_help_as_redun_spells_it_and_a_task_named_help(workdir: Path) -> None:
    (workdir / "wf.py").write_text(HELP_AND_LISTS)
    listed = invoke("run", "wf.py", "help")
    assert listed.exit_code == 0
    assert "tally" in listed.output and "Sum some numbers." in listed.output
    assert "bridge run wf.py -- help" in listed.output
    helped = invoke("run", "wf.py", "tally", "help")
    assert helped.exit_code == 0
    assert "--numbers" in helped.output and "list[int] (required)" in helped.output
    ran = invoke("run", "wf.py", "--", "help", "--times", "2")
    assert ran.exit_code == 0 and "'helped helped '" in ran.output


def test_list_arguments_separated_by_spaces(workdir: Path) -> None:
    (workdir / "wf.py").write_text(HELP_AND_LISTS)

    def tally(*args: str) -> dict:
        result = invoke("run", "wf.py", "tally", *args)
        assert result.exit_code == 0, result.output
        return ast.literal_eval(result.output.strip().splitlines()[-1])

    # negative values are values; the next --name is an option again
    assert tally("--numbers", "1", "-2", "3,4", "--shift", "-1", "--labels", "a", "b",
                 "--loud") == {"numbers": [1, -2, 3, 4], "labels": ["a", "b"], "shift": -1,
                               "loud": True}
    assert tally("--numbers", "[5, 6]", "7")["numbers"] == [5, 6, 7]
    # a value that looks like an option: --name=value
    assert tally("--labels=--odd", "x", "--numbers", "1")["labels"] == ["--odd", "x"]
    assert_user_error(invoke("run", "wf.py", "tally", "--numbers", "1", "two"),
                      "--numbers", "two")


SETUP = '''
from bridge import Scheduler, task


@task()
def main(x: int = 1) -> int:
    return x


def setup_scheduler(config, profile: str = "root", workers: int = 1) -> Scheduler:
    if profile == "broken":
        raise ValueError("Unknown profile: broken")
    with open("setup.log", "a") as log:
        log.write(f"{profile} {workers!r}\\n")
    return Scheduler(config=config)
'''


def test_setup_function_takes_setup_options(workdir: Path) -> None:
    (workdir / "workflow.py").write_text(SETUP)
    no_setup = bridge(workdir, "run", "--setup", "profile=dev", "workflow.py", "main",
                      check=False)
    assert no_setup.returncode == 2 and "setup_scheduler" in no_setup.stderr
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text(
        "[scheduler]\nsetup_scheduler = workflow::setup_scheduler\n")
    # before the command, as redun takes it, or among bridge run's own options
    assert result_of(bridge(workdir, "--setup", "profile=dev", "run", "-s", "workers=3",
                            "workflow.py", "main", "--x", "5")) == 5
    bridge(workdir, "run", "workflow.py", "main")
    assert (workdir / "setup.log").read_text().splitlines() == ["dev 3", "root 1"]
    unknown = bridge(workdir, "run", "--setup", "zone=eu", "workflow.py", "main", check=False)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "'zone'" in unknown.stderr and "profile, workers" in unknown.stderr
    failed = bridge(workdir, "run", "-s", "profile=broken", "workflow.py", "main", check=False)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert "ValueError: Unknown profile: broken" in failed.stderr


REDUN_INI = """\
[scheduler]
job_status_interval = 5

[backend]
db_uri = sqlite:///redun.db
value_store_min_size = 1024

[limits]
db = 2

[tags]
project = demo

[executors.default]
type = local
max_workers = 8

[executors.proc]
type = local
mode = process
start_method = spawn

[executors.batch]
type = aws_batch
image = my-image
queue = my-queue
s3_scratch = s3://bucket/scratch/
aws_region = us-west-2
batch_tags = {"team": "core"}
debug = False

[executors.kube]
type = k8s
image = my-image
"""


def test_a_redun_project_is_told_how_to_convert_and_converts(workdir: Path) -> None:
    from bridge.config import Config

    example("01_hello_world", workdir)
    (workdir / ".redun").mkdir()
    (workdir / ".redun" / "redun.ini").write_text("db_uri = no section\n")
    assert_user_error(invoke("init", "--from-redun"), "redun.ini", "cannot parse")
    (workdir / ".redun" / "redun.ini").write_text(REDUN_INI)
    run = bridge(workdir, "run", "workflow.py", "main")
    pointers = [line for line in run.stderr.splitlines() if "redun.ini" in line]
    assert len(pointers) == 1 and "bridge init --from-redun" in pointers[0]
    converted = bridge(workdir, "init", "--from-redun").stdout
    for left_out in ("job_status_interval", "db_uri", "[tags]", "start_method", "debug",
                     "[executors.kube]"):
        assert left_out in converted, left_out
    config = Config.load(workdir / ".bridge")
    assert config.backend.inline_limit == 1024 and config.limits == {"db": 2}
    assert config.executors["default"].max_workers == 8
    assert config.executors["proc"].mode == "processes"
    batch = config.executors["batch"]
    assert (batch.region, batch.tags, batch.queue) == ("us-west-2", {"team": "core"},
                                                        "my-queue")
    assert "kube" not in config.executors
    run = bridge(workdir, "run", "workflow.py", "main")
    assert "redun.ini" not in run.stderr
    again = bridge(workdir, "init", "--from-redun", check=False)
    assert again.returncode == 2 and "exists" in again.stderr


def test_redun_keys_in_bridge_ini_get_a_hint(workdir: Path) -> None:
    (workdir / "wf.py").write_text(HELP_AND_LISTS)
    (workdir / ".bridge").mkdir()
    ini = workdir / ".bridge" / "bridge.ini"
    cases = {
        "[executors.batch]\ntype = aws_batch\nimage = i\nqueue = q\ns3_scratch = s3://b/\n"
        "debug = true\n": ("[executors.batch] debug", "redun key", "docker executor"),
        "[executors.batch]\ntype = aws_batch\nimage = i\nqueue = q\ns3_scratch = s3://b/\n"
        "aws_region = eu-west-1\n": ("aws_region", "write region ="),
        "[backend]\nvalue_store_min_size = 10\n": ("value_store_min_size", "inline_limit"),
        "[scheduler]\njob_status_interval = 5\n": ("job_status_interval",
                                                   "BRIDGE_STATUS_INTERVAL"),
        "[repos]\nother = ../other\n": ("[repos]", "redun section", "--config"),
    }
    for text, words in cases.items():
        ini.write_text(text)
        assert_user_error(invoke("run", "wf.py", "tally", "--numbers", "1"), "bridge.ini",
                          *words)
    ini.write_text("[backend]\ndb_urii = x\n")
    result = invoke("run", "wf.py", "tally", "--numbers", "1")
    assert_user_error(result, "db_urii", "unknown key")
    assert "redun" not in result.output


def test_console_says_what_replaces_it(workdir: Path) -> None:
    shown = bridge(workdir, "console")
    assert shown.returncode == 0
    lines = shown.stdout.strip().splitlines()
    assert len(lines) == 1 and "bridge log ID" in lines[0] and not shown.stderr
    assert bridge(workdir, "console", "--execution", "abc").stdout == shown.stdout

