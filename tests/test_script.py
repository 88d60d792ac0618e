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


def _s3_batch(bucket: str, n: int, missing: tuple[int, ...] = ()) -> tuple[list, list]:
    """n S3 inputs (those at the indices ``missing`` never written) staged to nested local
    paths, and n S3 outputs the command makes from them."""
    inputs, outputs = [], []
    for i in range(n):
        remote = File(f"s3://{bucket}/reads/r{i}.txt")
        if i not in missing:
            remote.write(f"read {i}\n")
        inputs.append(remote.stage(f"in/sub{i % 2}/r{i}.txt"))
        outputs.append(File(f"s3://{bucket}/results/r{i}.out").stage(f"out/r{i}.out"))
    return inputs, outputs


_COPY_ALL = "for f in in/*/*.txt; do b=$(basename $f .txt); tr a-z A-Z < $f > out/$b.out; done"


def test_many_s3_files_are_staged_in_and_out(scheduler: Any, s3_bucket: str) -> None:
    inputs, outputs = _s3_batch(s3_bucket, 6)
    result = scheduler.run(script(_COPY_ALL, inputs=inputs, outputs=outputs, tempdir=True))
    assert result == [File(f"s3://{s3_bucket}/results/r{i}.out") for i in range(6)]
    assert [file.read() for file in result] == [f"READ {i}\n" for i in range(6)]


def test_a_missing_s3_input_among_many_is_named(scheduler: Any, s3_bucket: str) -> None:
    inputs, outputs = _s3_batch(s3_bucket, 6, missing=(1, 4))
    with pytest.raises(ScriptError) as caught:
        scheduler.run(script(_COPY_ALL, inputs=inputs, outputs=outputs, tempdir=True))
    first_line = str(caught.value).splitlines()[0]
    assert first_line.startswith(
        f"could not stage in the input s3://{s3_bucket}/reads/r1.txt (as in/sub1/r1.txt)")
    assert f"s3://{s3_bucket}/reads/r4.txt (as in/sub0/r4.txt)" in str(caught.value)
    assert caught.value.exit_code == 98
    assert not File(f"s3://{s3_bucket}/results/r0.out").exists()  # the command never ran


def test_an_output_that_cannot_be_staged_out_is_named(scheduler: Any, s3_bucket: str) -> None:
    out = File(f"s3://{s3_bucket}-gone/results/a.txt")
    kept = File(f"s3://{s3_bucket}/results/b.txt")
    with pytest.raises(ScriptError) as caught:
        scheduler.run(script("echo a > a.txt; echo b > b.txt", tempdir=True,
                             outputs=[out.stage("a.txt"), kept.stage("b.txt")]))
    first_line = str(caught.value).splitlines()[0]
    assert first_line.startswith(f"could not stage out the output a.txt (to {out.path})")
    assert "NoSuchBucket" in str(caught.value)  # what S3 said, in the stderr tail
    assert kept.read() == "b\n"  # the outputs that could be copied out were


def test_s3_staging_needs_only_the_aws_cli(tmp_path: Path, s3_bucket: str) -> None:
    """A machine whose python3 has no botocore (or no python3 at all) stages each S3 file
    with the AWS CLI, as before; a missing input is still named."""
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "aws").symlink_to(Path(shutil.which("aws") or "").resolve())
    python = subprocess.run(["/usr/bin/python3", "-c", "import botocore"], capture_output=True)
    if python.returncode == 0:
        pytest.skip("/usr/bin/python3 has botocore: this machine cannot show the fallback")
    env = {**os.environ, "PATH": f"{tools}:/usr/bin:/bin"}

    def run(n: int, missing: tuple[int, ...] = ()) -> subprocess.CompletedProcess:
        inputs, outputs = _s3_batch(s3_bucket, n, missing)
        work = tmp_path / f"work{n}"
        work.mkdir()
        text = prepare_script(_COPY_ALL, inputs=inputs, outputs=outputs)
        return subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=work, env=env,
                              capture_output=True, text=True)

    done = run(3)
    assert done.returncode == 0, done.stderr
    assert [File(f"s3://{s3_bucket}/results/r{i}.out").read() for i in range(3)] == [
        "READ 0\n", "READ 1\n", "READ 2\n"]
    failed = run(4, missing=(3,))  # r3 was never written
    assert failed.returncode == 98
    assert (f"bridge: could not stage in the input s3://{s3_bucket}/reads/r3.txt "
            "(as in/sub1/r3.txt)") in failed.stderr


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
