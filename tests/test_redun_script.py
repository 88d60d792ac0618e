"""script() as redun users write it, and redun's script, compile and toy bioinformatics
examples (workflows of our own in their spirit, in tests/redun_style/) run with `bridge run`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bridge import File, script, task
from bridge.scripting import ScriptError
from cli_helpers import invoke
from workflows import bridge, write_workflow

bridge_namespace = "tests_redun_script"

EXAMPLES = Path(__file__).parent / "redun_style"


def example(name: str, folder: Path) -> Path:
    """A fresh copy of an example workflow folder."""
    target = folder / name
    shutil.copytree(EXAMPLES / name, target)
    return target


def jobs(folder: Path) -> list[dict]:
    """The jobs of the latest execution, as `bridge log - --format json` lists them."""
    shown = invoke("log", "-", "--format", "json", "--config", str(folder / ".bridge"))
    return json.loads(shown.stdout)["jobs"]


def ran(folder: Path) -> list[str]:
    """The calls whose bodies ran in the latest execution."""
    return sorted(job["call"] for job in jobs(folder) if job["status"] == "DONE")


def short(calls: list[str]) -> list[str]:
    """Calls without the example's namespace; a script call as just its task's name."""
    return sorted("bridge.script" if call.startswith("bridge.script(")
                  else re.sub(r"^redun_style\.\w+\.", "", call) for call in calls)


# -- the examples -------------------------------------------------------------------------


def test_script_example_counts_replays_and_reruns_only_the_edited_script(tmp_path: Path) -> None:
    folder = example("04_script", tmp_path)
    out = bridge(folder, "run", "workflow.py", "main").stdout
    assert "'counts': {'apple': 3, 'fig': 1, 'pear': 2}" in out
    assert (folder / "tally.txt").read_text() == "apple 3\npear 2\nfig 1\n"
    assert (folder / "tally.txt.log").read_text() == "sorting\ncounting\n"
    assert not (folder / "fruits.sorted").exists()  # tempdir=True kept it out of the folder

    bridge(folder, "run", "workflow.py", "main")
    assert ran(folder) == []

    workflow = folder / "workflow.py"
    workflow.write_text(workflow.read_text().replace("sort -k1,1nr -k2,2", "sort -k2,2"))
    bridge(folder, "run", "workflow.py", "main")
    assert short(ran(folder)) == ["bridge.script", "main()",
                                  "tally_by_script(table=File('fruits.tsv'), out_path='tally.txt')"]
    assert (folder / "tally.txt").read_text() == "apple 3\nfig 1\npear 2\n"


def test_compile_example_recompiles_only_the_edited_file_and_relinks(tmp_path: Path) -> None:
    folder = example("02_compile", tmp_path)
    assert bridge(folder, "run", "workflow.py", "make").stdout.strip() == \
        "[File('hello'), File('shout')]"
    assert subprocess.run(["./hello"], cwd=folder, capture_output=True, text=True).stdout == \
        "hello, world\n"
    assert subprocess.run(["./shout"], cwd=folder, capture_output=True, text=True).stdout == \
        "HELLO!\n"

    bridge(folder, "run", "workflow.py", "make")
    assert ran(folder) == []

    source = folder / "shout.c"
    source.write_text(source.read_text().replace('"!\\n"', '"!!!\\n"'))
    bridge(folder, "run", "workflow.py", "make")
    assert short(ran(folder)) == [
        "bridge.script", "bridge.script",  # gcc -c shout.c, gcc -o shout
        "compile(c_file=File('shout.c'))", "link(prog_path='shout', o_files=[File('shout.o'), "
        "File('words.o')])", "make()",
        "make_prog(prog_path='shout', c_files=[File('shout.c'), File('words.c')])",
    ]
    assert subprocess.run(["./shout"], cwd=folder, capture_output=True, text=True).stdout == \
        "HELLO!!!\n"


def test_bioinfo_toy_example_runs_new_samples_and_reruns_only_the_upgraded_step(
        tmp_path: Path) -> None:
    folder = example("bioinfo_toy", tmp_path)
    assert bridge(folder, "run", "workflow.py", "run_sample").stdout.strip() == \
        "'variants[aligned[reads-s0]]'"
    out = bridge(folder, "run", "workflow.py", "run_samples", "--n", "2").stdout
    assert "['variants[aligned[reads-s0]]', 'variants[aligned[reads-s1]]']" in out
    assert short(ran(folder)) == ["align_reads(reads='reads-s1')",
                                  "call_variants(alignment='aligned[reads-s1]')",
                                  "run_samples(n=2)"]  # sample 0 replays from run_sample

    bridge(folder, "run", "workflow.py", "run_samples", "--n", "2")
    assert ran(folder) == []

    workflow = folder / "workflow.py"
    workflow.write_text(workflow.read_text().replace('f"variants[', 'f"variants2['))
    out = bridge(folder, "run", "workflow.py", "run_samples", "--n", "2").stdout
    assert "'variants2[aligned[reads-s1]]'" in out
    assert short(ran(folder)) == ["call_variants(alignment='aligned[reads-s0]')",
                                  "call_variants(alignment='aligned[reads-s1]')",
                                  "run_samples(n=2)"]


# -- script() as redun users write it -------------------------------------------------------


@task()
def shell(command: Any, outputs: Any = None, tempdir: bool = False) -> Any:
    return script(command, outputs=outputs, tempdir=tempdir)


def test_a_list_command_quotes_each_word(scheduler: Any) -> None:
    words = ["printf", "%s|", "two  spaces", "it's", "$HOME", "a;b"]
    assert scheduler.run(shell(words)) == "two  spaces|it's|$HOME|a;b|"


def test_stdout_is_text_that_also_reads_as_redun_bytes(scheduler: Any) -> None:
    result = scheduler.run(shell("echo hi"))
    assert isinstance(result, str) and result == "hi\n"
    assert result == b"hi\n" and result.decode() == "hi\n"  # code written for redun
    shaped = scheduler.run(shell("echo hi", outputs={"n": 10, "out": File("-")}))
    assert shaped == {"n": 10, "out": "hi\n"}


@task(script=True)
def greet(name: str) -> str:
    return f"echo Hello, {name}!"


@task(script=True)
def greet_in_python(name: str) -> str:
    return f"""
        #!/usr/bin/env python3
        print("Hello from Python, {name}!")
        """


@task(script=True)
def fail_then_continue() -> str:
    return """
        no_such_program_here
        echo unreachable
        """


def test_a_script_task_runs_the_shell_text_its_body_returns(scheduler: Any) -> None:
    assert scheduler.run(greet("World")) == "Hello, World!\n"
    assert scheduler.run(greet_in_python("World")) == b"Hello from Python, World!\n"
    with pytest.raises(ScriptError, match="exited with code 127"):
        scheduler.run(fail_then_continue())


def test_a_script_task_reruns_when_its_body_changes(workdir: Path) -> None:
    write_workflow(workdir, """
        @task(script=True)
        def count(word: str) -> str:
            return f"echo {word} >> calls.log; echo -n {word} | wc -c"
        """)
    out = bridge(workdir, "run", "workflow.py", "count", "--word", "abc").stdout
    assert out.strip() == "'3\\n'"
    bridge(workdir, "run", "workflow.py", "count", "--word", "abc")
    assert (workdir / "calls.log").read_text() == "abc\n"  # replayed, not run again
    workflow = workdir / "workflow.py"
    workflow.write_text(workflow.read_text().replace("wc -c", "wc -m"))
    bridge(workdir, "run", "workflow.py", "count", "--word", "abc")
    assert (workdir / "calls.log").read_text() == "abc\nabc\n"


def test_a_script_runs_in_the_working_folder(scheduler: Any, workdir: Path) -> None:
    (workdir / "in.txt").write_text("abc\n")
    result = scheduler.run(script(
        "pwd; tr a-z A-Z < in.txt > out.txt; cp out.txt copy.txt",
        inputs=[File("in.txt").stage()],  # staged onto itself: nothing to copy
        outputs={"where": File("-"), "out": File("out.txt"),
                 "copy": File("copy.txt").stage("copy.txt")}))
    assert result["where"].strip() == str(workdir)
    assert result["out"] == File("out.txt") and File("out.txt").read() == "ABC\n"
    assert result["copy"] == File("copy.txt") and File("copy.txt").read() == "ABC\n"


def test_tempdir_runs_in_a_fresh_folder_and_copies_outputs_out(scheduler: Any,
                                                               workdir: Path) -> None:
    (workdir / "in.txt").write_text("abc\n")
    result = scheduler.run(script(
        "pwd > where.txt; cat data > scratch.txt; tr a-z A-Z < data > up.txt; cp up.txt kept.txt",
        tempdir=True, inputs=[File("in.txt").stage("data")],
        outputs={"up": File("results/up.txt").stage("up.txt"), "kept": File("kept.txt"),
                 "where": File("where.txt")}))
    assert File("results/up.txt").read() == "ABC\n" and result["up"] == File("results/up.txt")
    assert result["kept"] == File("kept.txt") and File("kept.txt").read() == "ABC\n"
    assert File("where.txt").read().strip() != str(workdir)
    assert not (workdir / "scratch.txt").exists() and not (workdir / "data").exists()


def test_a_failing_script_names_the_call_that_built_it(workdir: Path) -> None:
    write_workflow(workdir, """
        from bridge import script

        @task()
        def align(sample: str):
            missing = "" if sample == "s1" else "missing-"
            return script(f"echo 'aligner: cannot open {missing}reads/{sample}.fq; check the "
                          f"path and try again' >&2; exit {3 if missing else 0}")

        @task()
        def main():
            return [align(sample=name) for name in ["s1", "s2"]]
        """)
    result = bridge(workdir, "run", "workflow.py", "main", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "ScriptError: align(sample='s2'): script exited with code 3" in result.stderr
    summary = result.stderr.strip().splitlines()[-1]  # one line, whole
    assert summary.startswith("Error: execution ") and "stderr tail" not in summary
    assert ("align(sample='s2'): script exited with code 3; last stderr line: aligner: cannot "
            "open missing-reads/s2.fq; check the path and try again (scratch folder kept at "
            ) in summary
    failed = [job for job in jobs(workdir) if job["status"] == "FAILED"
              and job["task"] == "bridge.script"]
    config = str(workdir / ".bridge")
    for ident in ("-", failed[0]["job_id"][:8]):  # the execution, and the script's job
        shown = invoke("log", ident, "--config", config).stdout
        assert "align(sample='s2'): script exited with code 3" in shown


def test_the_script_error_keeps_what_the_command_wrote_to_dev_stderr(scheduler: Any) -> None:
    with pytest.raises(ScriptError) as caught:
        scheduler.run(shell("echo context > /dev/stderr\nno_such_program_here"))
    assert caught.value.caller.startswith("tests_redun_script.shell(command=")  # from Python too
    assert "context" in caught.value.message
    assert "no_such_program_here: command not found" in caught.value.message
    assert os.path.isdir(caught.value.scratch)
