"""script(): run a shell command in a scratch folder, with files staged in and out.

The work is split in layers so that every executor runs the very same shell script:

- :func:`prepare_script` turns (command, inputs, outputs) into one plain bash script.
  It stages the inputs in (every ``s3://`` file in one python3 process,
  :mod:`s3_stager`, else ``aws s3 cp`` each; ``cp``, ``curl`` and ``aws s3 cp --recursive``
  for the rest; an input that cannot be staged is named on stderr, with exit
  :data:`MISSING_INPUT_EXIT`), makes the folders that staged output files go in, runs the
  command in a subshell (its stdout is the script's stdout; staging messages go to
  stderr), checks that every staged output was written (else it names the missing ones
  and exits with :data:`MISSING_OUTPUT_EXIT`), and stages the outputs out the same way
  (an S3 file that cannot be written is named, exit :data:`OUTPUT_FAILED_EXIT`). It needs
  bash and coreutils, plus for ``s3://`` files python3 with botocore (boto3 or the
  pip-installed AWS CLI bring it) or else the AWS CLI, and curl for ``http(s)://`` inputs;
  no bridge: a container runs it as-is with ``bash -euo pipefail script.sh`` in an empty
  working folder.
- :func:`finish_script` turns the outputs' shape into the call's result: each staged
  file becomes its remote File, ``File("-")`` becomes the script's stdout (text).
- :func:`run_script` is the local path: scratch folder, bash, errors, finish_script.

``script()`` returns a call of the task ``bridge.script`` (:data:`SCRIPT_TASK_NAME`)
with keyword arguments ``command``, ``inputs`` and ``outputs``. The local executor runs
its body (:func:`run_script`), giving it the call's options; a container executor
recognises it by ``Work.is_script`` and runs ``prepare_script(**work.kwargs,
options=...)`` in its image, then ``finish_script(work.kwargs["outputs"], stdout)`` on
the host. Either way ``options`` are the call's resolved executor options: the script
exports its share of them (:func:`share_exports`: ``$BRIDGE_CPUS``, ``$BRIDGE_MEMORY_GB``).
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from bridge.native.children import run_child
from bridge.native.expression import TaskCall, contains_expression
from bridge.native.file import Dir, File, StagingFile, _Staging, is_temporary
from bridge.native.hashing import hash_value
from bridge.native.runner import report_output
from bridge.native.s3_stager import NO_STAGER_EXIT
from bridge.native.task import namespace, task

SCRIPT_TASK_NAME = "bridge.script"
MISSING_OUTPUT_EXIT = 97
MISSING_INPUT_EXIT = 98
OUTPUT_FAILED_EXIT = 99
INPUT_FAILED = ("could not stage in the input {remote} (as {local}): check that it exists and"
                " can be read")
OUTPUT_FAILED = ("could not stage out the output {local} (to {remote}): check that its bucket"
                 " exists and can be written")
STDERR_TAIL_LINES = 20
# What a job records of its script's stdout and of its stderr: the first and last lines
# (a tool's version banner, its summary), at most this many characters.
OUTPUT_HEAD_LINES, OUTPUT_TAIL_LINES, OUTPUT_CHARS = 20, 40, 8192

ScriptOutputListener = Callable[[str, str], None]
_output_listener: ContextVar[ScriptOutputListener | None] = ContextVar(
    "bridge_script_output", default=None)


def on_script_output(listener: ScriptOutputListener | None) -> None:
    """Scripts the calling thread runs from now on hand ``listener(stdout, stderr)`` what
    they printed, when they end (an orchestrator adapter copies it into its logs)."""
    _output_listener.set(listener)
STDOUT = "-"


class ScriptError(Exception):
    """A script exited non-zero, or did not write a staged output. ``caller`` is the call
    whose body built the script (``align(sample='s2')``), set by the engine when it fails;
    the message leads with it."""

    def __init__(self, message: str, exit_code: int | None = None, scratch: str | None = None,
                 caller: str | None = None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.scratch = scratch
        self.caller = caller

    def __str__(self) -> str:
        return f"{self.caller}: {self.message}" if self.caller else self.message

    def __reduce__(self) -> tuple:
        return (type(self), (self.message, self.exit_code, self.scratch, self.caller))


class Stdout(str):
    """A script's stdout: text (a ``str``) that also reads as the bytes redun's script()
    returns: it equals its UTF-8 encoding (``== b"ok\\n"``) and has ``.decode()``, so
    code written for redun keeps working. It hashes as the plain text."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, bytes):
            return self.encode() == other
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = str.__hash__

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return str(self)

    def __reduce__(self) -> tuple:
        return (Stdout, (str(self),))

    def __bridge_hash__(self) -> str:
        return hash_value(str(self))


class ScriptOutputs:
    """The outputs' shape, hashed by paths only: an output's content is what the script
    makes, so it must not change the call's hash (a deleted or changed output is caught
    by the result's file check instead)."""

    def __init__(self, shape: Any) -> None:
        self.shape = shape

    def __repr__(self) -> str:
        return f"ScriptOutputs({self.shape!r})"

    def __bridge_hash__(self) -> str:
        return hash_value(_paths_only(self.shape))


def _paths_only(value: Any) -> Any:
    """Paths, and whether an output is temporary (a result marked so must not replay one
    recorded before it was)."""
    if isinstance(value, _Staging):
        return (type(value).__name__, value.local.path, *_paths_only(value.remote)[1:])
    if isinstance(value, File | Dir):
        return (type(value).__name__, value.path, *(["temp"] if is_temporary(value) else []))
    if type(value) is dict:
        return {key: _paths_only(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_paths_only(item) for item in value)
    return value


def script(command: str | list | tuple, inputs: Any = None, outputs: Any = None,
           tempdir: bool = False, executor: str = "default", **options: Any) -> TaskCall:
    """Run ``command`` with bash on ``executor``: locally in the working folder, or in a
    fresh scratch folder with ``tempdir=True`` (a container always runs it in an empty one).

    ``command``: shell text (dedented; a ``#!`` first line picks another interpreter), or
    a list of words, each quoted for the shell. ``inputs``: staged files
    (``File(remote).stage("local")``) copied in first, and any other values the command
    depends on. ``outputs``: any shape (a File, a list, a dict) whose staged files are
    copied out after (with ``tempdir=True``, a plain relative ``File(path)`` is copied out
    to that path in the working folder); the result has the same shape with each staged
    file replaced by its remote File and ``File("-")`` by the stdout (text). Other options
    (``memory``, ``vcpus``, ``image``, ...) go to the executor."""
    if isinstance(command, list | tuple):
        command = shlex.join(_word(part) for part in command)
    if outputs is None:
        outputs = File(STDOUT)
    if contains_expression(outputs):
        raise TypeError(
            "script(): outputs must name concrete paths (File(path).stage('local')), "
            "not lazy task results"
        )
    if tempdir:
        outputs = _self_staged(outputs)
    call_options = {"executor": executor, **options}
    where = {"tempdir": True} if tempdir else {}  # the default keeps older calls' hashes
    return script_task.options(**call_options)(
        command=command, inputs=inputs if inputs is not None else [],
        outputs=ScriptOutputs(outputs), **where,
    )


def _word(part: Any) -> str:
    return part.path if isinstance(part, File | Dir) else str(part)


def _self_staged(value: Any) -> Any:
    """Plain relative output Files staged to the same path in the working folder, so a
    script run in a scratch folder leaves them where the result's Files point."""
    if type(value) is File and value.path != STDOUT and _is_relative_local(value.path):
        return value.stage(value.path)
    if type(value) is dict:
        return {key: _self_staged(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_self_staged(item) for item in value)
    return value


def _is_relative_local(path: str) -> bool:
    return "://" not in path and not os.path.isabs(path)


def iter_staging(value: Any) -> Iterator[_Staging]:
    """Every staged file or folder in a (nested) value."""
    if isinstance(value, ScriptOutputs):
        yield from iter_staging(value.shape)
    elif isinstance(value, _Staging):
        yield value
    elif type(value) is dict:
        for item in value.values():
            yield from iter_staging(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from iter_staging(item)


def prepare_script(command: str, inputs: Any = (), outputs: Any = None,
                   tempdir: bool = False, options: Mapping[str, Any] | None = None) -> str:
    """The whole job as one bash script: stage in, run the command, stage out. The
    folder it runs in is the runner's choice (``tempdir`` tells :func:`run_script`);
    ``options``, the call's executor options, give its share (:func:`share_exports`)."""
    inputs_staged = list(iter_staging(inputs))
    outputs_staged = list(iter_staging(outputs))
    lines = [
        "set -euo pipefail",
        *share_exports(options or {}),
        "bridge_input_failed() {",
        f'  echo "bridge: {INPUT_FAILED.format(remote="$1", local="$2")}" >&2',
        f"  exit {MISSING_INPUT_EXIT}",
        "}",
    ]
    if any(_in_one_process(s) for s in inputs_staged + outputs_staged):
        lines += _s3_stager_function()
    lines += ["# stage in", *_staged_together(
        "down", MISSING_INPUT_EXIT, INPUT_FAILED, inputs_staged, _stage_in_line)]
    parents = sorted({os.path.dirname(s.local.path) for s in outputs_staged
                      if isinstance(s, StagingFile)} - {""})
    lines += [f"mkdir -p {shlex.quote(parent)}" for parent in parents]
    lines += ["# command", *_command_lines(textwrap.dedent(command).strip("\n"))]
    if outputs_staged:
        lines += ["# check and stage out", "bridge_missing=()"]
        lines += [
            f"[ -e {shlex.quote(s.local.path)} ] || bridge_missing+=({shlex.quote(s.local.path)})"
            for s in outputs_staged
        ]
        lines += [
            'if ((${#bridge_missing[@]})); then',
            '  echo "bridge: the script did not write its output(s): ${bridge_missing[*]}:'
            ' write them in the command, or drop them from outputs" >&2',
            f"  exit {MISSING_OUTPUT_EXIT}",
            "fi",
        ]
        lines += _staged_together(
            "up", OUTPUT_FAILED_EXIT, OUTPUT_FAILED, outputs_staged, _stage_out_line)
    return "\n".join(lines) + "\n"


def share_exports(options: Mapping[str, Any]) -> list[str]:
    """What a script knows of its share, as the executor sized it: ``BRIDGE_CPUS`` (its
    ``vcpus``, 1 when not given: for ``bwa mem -t "$BRIDGE_CPUS"``) and, when given,
    ``BRIDGE_MEMORY_GB`` (its ``memory``)."""
    shares = {"BRIDGE_CPUS": options.get("vcpus", 1), "BRIDGE_MEMORY_GB": options.get("memory")}
    return [f"export {name}={shlex.quote(_number(value))}"
            for name, value in shares.items() if value is not None]


def _number(value: Any) -> str:
    """2 for 2 and 2.0 (a tool's thread count), 0.5 for 0.5; other values as given."""
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)


def _stage_in_line(staging: _Staging) -> str:
    return (f"{_unless_same(staging)}{{ {staging.shell_stage()}; }} >&2 || bridge_input_failed "
            f"{shlex.quote(staging.remote.path)} {shlex.quote(staging.local.path)}")


def _stage_out_line(staging: _Staging) -> str:
    return f"{_unless_same(staging)}{{ {staging.shell_unstage()}; }} >&2"


def _in_one_process(staging: _Staging) -> bool:
    """S3 files are staged together by the S3 stager; folders and other files one by one."""
    return isinstance(staging, StagingFile) and staging.remote.path.startswith("s3://")


def _staged_together(direction: str, fail_exit: int, message: str, staged: list[_Staging],
                     one_line: Callable[[_Staging], str]) -> list[str]:
    """Shell lines that stage ``staged``: every S3 file through one run of the S3 stager
    (falling back to ``one_line`` each where the machine has no python3 with botocore),
    the rest with ``one_line`` each."""
    together = [s for s in staged if _in_one_process(s)]
    lines = [one_line(s) for s in staged if not _in_one_process(s)]
    if not together:
        return lines
    pairs = [(s.remote.path, s.local.path) if direction == "down" else
             (s.local.path, s.remote.path) for s in together]
    words = [direction, str(fail_exit), shlex.quote(message)]
    words += [shlex.quote(path) for pair in pairs for path in pair]
    return [
        "bridge_status=0",
        f"bridge_s3 {' '.join(words)} >&2 || bridge_status=$?",
        f'if [ "$bridge_status" = {NO_STAGER_EXIT} ]; then  # no botocore: the AWS CLI per file',
        *(f"  {one_line(s)}" for s in together),
        'elif [ "$bridge_status" != 0 ]; then',
        '  exit "$bridge_status"',
        "fi",
        *lines,
    ]


@functools.cache
def _s3_stager_function() -> list[str]:
    """A bash function ``bridge_s3`` that runs :mod:`s3_stager` (its text inline, so the
    job needs no bridge) with python3, or returns its "no stager" exit without one."""
    source = (Path(__file__).parent / "s3_stager.py").read_text()
    end = "BRIDGE_S3_STAGER"
    return ["bridge_s3() {",
            f"  command -v python3 >/dev/null || return {NO_STAGER_EXIT}",
            f"  python3 - \"$@\" <<'{end}'", *source.splitlines(), end, "}"]


def _unless_same(staging: _Staging) -> str:
    """A guard that skips copying a local remote onto itself (a script run in the
    working folder with ``File("a.txt").stage("a.txt")``)."""
    if "://" in staging.remote.path:
        return ""
    remote = shlex.quote(os.path.abspath(staging.remote.path))
    return f"[ {remote} -ef {shlex.quote(staging.local.path)} ] || "


def _command_lines(command: str) -> list[str]:
    """The user's command in a subshell; one with a ``#!`` line is written to a file and
    run by its own interpreter (``#!/usr/bin/env python``)."""
    if not command.startswith("#!"):
        return ["(", command, ")"]
    end = "BRIDGE_COMMAND"
    while end in command.splitlines():
        end += "_"
    return ['bridge_command="$(mktemp)"', """trap 'rm -f "$bridge_command"' EXIT""",
            f"cat > \"$bridge_command\" <<'{end}'", command, end,
            'chmod +x "$bridge_command"', '"$bridge_command"']


def finish_script(outputs: Any, stdout: str) -> Any:
    """The call's result: the outputs' shape with staged files turned into their remote
    Files and ``File("-")`` into the script's stdout."""
    if isinstance(outputs, ScriptOutputs):
        outputs = outputs.shape
    if isinstance(outputs, _Staging):
        return outputs.remote
    if isinstance(outputs, File) and outputs.path == STDOUT:
        return Stdout(stdout)
    if type(outputs) is dict:
        return {key: finish_script(item, stdout) for key, item in outputs.items()}
    if type(outputs) in (list, tuple):
        return type(outputs)(finish_script(item, stdout) for item in outputs)
    return outputs


def run_script(command: str, inputs: Any, outputs: Any, tempdir: bool = False,
               options: Mapping[str, Any] | None = None) -> Any:
    """Run the prepared script with bash on this machine, in the working folder or (with
    ``tempdir``) in the scratch folder's ``work``. The scratch folder (the script, its
    stdout and stderr) is removed on success and kept, named in the error, on failure."""
    scratch = tempfile.mkdtemp(prefix="bridge-script-")
    workdir = os.path.join(scratch, "work") if tempdir else os.getcwd()
    if tempdir:
        os.mkdir(workdir)
    script_path = os.path.join(scratch, "script.sh")
    with open(script_path, "w") as handle:
        handle.write(prepare_script(command, inputs, outputs, options=options))
    stdout_path, stderr_path = os.path.join(scratch, "stdout"), os.path.join(scratch, "stderr")
    # Appending: a command that writes `> /dev/stderr` reopens the file; with O_APPEND
    # the script's own later writes still land after it instead of over it.
    with open(stdout_path, "ab") as out, open(stderr_path, "ab") as err:
        code = run_child(["bash", "-euo", "pipefail", script_path], cwd=workdir,
                         stdout=out, stderr=err, env=_script_env())
    stdout, stderr = _read_text(stdout_path), _read_text(stderr_path)
    report_output({"stdout": output_excerpt(stdout), "stderr": output_excerpt(stderr)})
    listener = _output_listener.get()
    if listener is not None:
        listener(stdout, stderr)
    if code != 0:
        raise _script_error(code, scratch, workdir, outputs)
    shutil.rmtree(scratch, ignore_errors=True)
    return finish_script(outputs, stdout)


def output_excerpt(text: str) -> str:
    """The first and last lines of what a script printed, as its job records them: a
    tool's version banner and its summary, without a whole log in the store."""
    lines = text.splitlines()
    if len(lines) > OUTPUT_HEAD_LINES + OUTPUT_TAIL_LINES:
        left_out = len(lines) - OUTPUT_HEAD_LINES - OUTPUT_TAIL_LINES
        lines = [*lines[:OUTPUT_HEAD_LINES], f"[... {left_out} lines left out ...]",
                 *lines[-OUTPUT_TAIL_LINES:]]
    excerpt = "\n".join(lines)
    if len(excerpt) <= OUTPUT_CHARS:
        return excerpt
    head = OUTPUT_CHARS // 4
    return excerpt[:head] + "\n[...]\n" + excerpt[head - OUTPUT_CHARS:]


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def _script_env() -> dict[str, str]:
    """The caller's environment, with this Python's bin folder on PATH so tools installed
    beside bridge (the AWS CLI) are found."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def _script_error(code: int, scratch: str, workdir: str, outputs: Any) -> ScriptError:
    with open(os.path.join(scratch, "stderr"), encoding="utf-8", errors="replace") as handle:
        lines = handle.read().splitlines()
    kept = f"(scratch folder kept at {scratch})"
    if code == MISSING_OUTPUT_EXIT:
        missing = [f"{s.local.path} (for {s.remote.path})" for s in iter_staging(outputs)
                   if not os.path.exists(os.path.join(workdir, s.local.path))]
        if missing:
            return ScriptError(
                f"script did not write its output(s) {', '.join(missing)}: write them in the "
                f"command, or drop them from outputs {kept}", code, scratch)
    reason = f"script exited with code {code}"
    if code in (MISSING_INPUT_EXIT, OUTPUT_FAILED_EXIT):
        named = [line for line in lines if line.startswith("bridge: could not stage")]
        if named:  # the first leads; the tail keeps the others and what the tools said
            reason = named[0].removeprefix("bridge: ")
            lines = [line for line in lines if line != named[0]]
    elif lines and lines[-1].strip():  # the last word of a failing tool is often the why
        reason += f"; last stderr line: {lines[-1].strip()}"
    # The first line is whole: the run's one-line summary shows it alone.
    tail = "\n".join(lines[-STDERR_TAIL_LINES:])
    return ScriptError(f"{reason} {kept}\nstderr tail:\n{tail}", code, scratch)


with namespace("bridge"):

    @task(name="script", version="1")
    def script_task(command: str, inputs: Any, outputs: ScriptOutputs,
                    tempdir: bool = False, options: dict | None = None) -> Any:
        """Run a shell script with staged files (see :func:`script`); ``options`` are
        not the call's arguments: its executor adds them when it runs the body."""
        return run_script(command, inputs, outputs, tempdir, options)
