"""script(): shell commands with staged inputs and outputs, locally and on S3."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bridge import Dir, File, Scheduler, script, task
from bridge.native.script import ScriptError, prepare_script

# Tasks of this module get their own names, apart from other tests' workflows.
bridge_namespace = "tests_script"


@task()
def upper(src: File, out: str, log: str) -> dict:
    return script(
        f"""
        echo ran >> {log}
        tr a-z A-Z < in.txt > result/out.txt
        echo "lines: $(wc -l < in.txt)"
        """,
        inputs=[src.stage("in.txt")],
        outputs={"out": File(out).stage("result/out.txt"), "stdout": File("-")},
        tempdir=True,
    )


@task()
def shell(command: str, outputs: Any = None, tempdir: bool = True) -> Any:
    return script(command, outputs=outputs, tempdir=tempdir)


def runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_staged_inputs_outputs_and_stdout(scheduler: Any, workdir: Path) -> None:
    src = File(workdir / "in.txt").write("abc\ndef\n")
    out, log = str(workdir / "out" / "upper.txt"), workdir / "ran.log"
    result = scheduler.run(upper(src, out, str(log)))
    assert result == {"out": File(out), "stdout": "lines: 2\n"}
    assert File(out).read() == "ABC\nDEF\n"
    scheduler.run(upper(src, out, str(log)))
    assert runs(log) == 1  # replayed
    File(out).remove()
    scheduler.run(upper(src, out, str(log)))
    assert runs(log) == 2 and File(out).read() == "ABC\nDEF\n"
    src.write("ghi\n")
    assert scheduler.run(upper(src, out, str(log)))["stdout"] == "lines: 1\n"
    assert runs(log) == 3


def test_stdout_is_the_default_result_and_scratch_is_removed(scheduler: Any) -> None:
    scratch = scheduler.run(shell("pwd; echo to stderr >&2"))
    assert scratch.strip().endswith("/work")
    assert not os.path.exists(os.path.dirname(scratch.strip()))


def test_non_zero_exit_fails_with_code_and_stderr_tail(scheduler: Any) -> None:
    with pytest.raises(ScriptError) as caught:
        scheduler.run(shell("echo first >&2\necho 'samtools: bad input' >&2\nexit 3"))
    error = caught.value
    assert error.exit_code == 3
    assert "exited with code 3" in str(error) and "samtools: bad input" in str(error)
    assert error.scratch in str(error) and os.path.isdir(error.scratch)  # kept for a look


def test_a_long_stderr_is_cut_to_its_tail(scheduler: Any) -> None:
    with pytest.raises(ScriptError) as caught:
        scheduler.run(shell("for i in $(seq 1 100); do echo \"progress line $i\" >&2; done\n"
                            "exit 4"))
    message = str(caught.value)
    assert "progress line 100" in message and "progress line 81" in message
    assert "progress line 80\n" not in message  # the last 20 lines only
    kept = Path(caught.value.scratch)
    assert (kept / "stderr").read_text().count("\n") == 100  # all of it kept, for a look
    shutil.rmtree(kept)


def test_a_pipeline_failure_fails_the_script(scheduler: Any) -> None:
    with pytest.raises(ScriptError, match="exited with code 1"):
        scheduler.run(shell("false | cat\necho unreachable"))


def test_a_missing_output_is_an_error_naming_it(scheduler: Any, workdir: Path) -> None:
    outputs = [File(workdir / "a.txt").stage("a.txt"), File(workdir / "b.txt").stage("b.txt")]
    with pytest.raises(ScriptError) as caught:
        scheduler.run(shell("touch a.txt", outputs=outputs))
    assert f"did not write its output(s) b.txt (for {workdir / 'b.txt'})" in str(caught.value)
    assert os.path.isdir(caught.value.scratch)
    assert not File(workdir / "a.txt").exists()  # nothing is staged out from a failure


def test_closing_one_scheduler_leaves_another_schedulers_script_running(workdir: Path) -> None:
    started = workdir / "started"
    results: list = []

    def run_first() -> None:
        with Scheduler(config={"config_dir": str(workdir / "first")}) as first:
            try:
                results.append(first.run(shell(f"touch {started}; sleep 2; echo done")))
            except Exception as error:
                results.append(error)

    thread = threading.Thread(target=run_first)
    thread.start()
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    with Scheduler(config={"config_dir": str(workdir / "second")}) as second:
        assert second.run(shell("echo other")) == "other\n"
    thread.join(timeout=30)
    assert results == ["done\n"]


def test_bridge_run_shows_a_script_mistake_without_a_traceback(workdir: Path) -> None:
    from cli_helpers import invoke

    (workdir / "wf.py").write_text(
        "from bridge import File, script, task\n\n"
        "@task()\n"
        "def forgot(out: str) -> dict:\n"
        "    return script('echo hi', outputs={'o': File(out).stage('o.txt')})\n")
    result = invoke("run", "wf.py", "forgot", "--out", "out/o.txt")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    error = next(line for line in result.output.splitlines() if line.startswith("Error:"))
    assert "did not write its output(s) o.txt (for out/o.txt)" in error


def test_an_input_that_cannot_be_staged_is_named(scheduler: Any, workdir: Path) -> None:
    missing = workdir / "no-such-input.txt"
    with pytest.raises(ScriptError) as caught:
        scheduler.run(script("cat in.txt", inputs=[File(missing).stage("in.txt")]))
    first_line = str(caught.value).splitlines()[0]
    assert first_line.startswith(f"could not stage in the input {missing} (as in.txt)")
    assert "No such file" in str(caught.value)  # what cp said, in the stderr tail


def test_staged_folders(scheduler: Any, workdir: Path) -> None:
    File(workdir / "refs" / "a.fa").write(">a\n")
    File(workdir / "refs" / "sub" / "b.fa").write(">b\n")
    result = scheduler.run(_dir_script(workdir))
    assert isinstance(result, Dir)
    assert sorted(result.rel_path(f) for f in result) == ["all.fa", "count.txt"]
    assert File(workdir / "merged" / "all.fa").read() == ">a\n>b\n"


def _dir_script(workdir: Path) -> Any:
    return script(
        "mkdir out && cat refs/a.fa refs/sub/b.fa > out/all.fa && ls refs | wc -l > out/count.txt",
        inputs=[Dir(workdir / "refs").stage("refs")],
        outputs=Dir(workdir / "merged").stage("out"),
    )


def test_s3_staging(scheduler: Any, s3_bucket: str) -> None:
    src = File(f"s3://{s3_bucket}/reads/r1.txt").write("acgt\n")
    out = f"s3://{s3_bucket}/results/r1.upper.txt"
    result = scheduler.run(script(
        "tr a-z A-Z < r1.txt > r1.upper.txt",
        inputs=[src.stage("r1.txt")],
        outputs=[File(out).stage("r1.upper.txt")],
    ))
    assert result == [File(out)]
    assert File(out).read() == "ACGT\n"


def test_s3_folders_staged_in_and_out(scheduler: Any, s3_bucket: str) -> None:
    File(f"s3://{s3_bucket}/refs/a.fa").write(">a\n")
    File(f"s3://{s3_bucket}/refs/sub/b.fa").write(">b\n")
    result = scheduler.run(script(
        "mkdir out && cat refs/a.fa refs/sub/b.fa > out/all.fa && ls refs | wc -l > out/n.txt",
        inputs=[Dir(f"s3://{s3_bucket}/refs").stage("refs")],
        outputs=Dir(f"s3://{s3_bucket}/merged").stage("out"),
    ))
    assert result == Dir(f"s3://{s3_bucket}/merged")
    assert sorted(result.rel_path(f) for f in result) == ["all.fa", "n.txt"]
    assert result.file("all.fa").read() == ">a\n>b\n"
    assert result.file("n.txt").read().strip() == "2"  # a.fa and the sub folder


def test_prepared_script_runs_with_plain_bash_and_no_bridge(tmp_path: Path) -> None:
    """What a container executor does: run the text in an empty folder with bash only."""
    File(tmp_path / "in.txt").write("x\n")
    text = prepare_script(
        "cat in.txt in.txt > out.txt; echo hi",
        inputs=[File(tmp_path / "in.txt").stage("in.txt")],
        outputs={"o": File(tmp_path / "o" / "out.txt").stage("out.txt"), "s": File("-")},
    )
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=work,
                          env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hi\n"
    assert (tmp_path / "o" / "out.txt").read_text() == "x\nx\n"
