"""Packaging one call so another machine (a container, a Batch job) can run it.

A call lives in a folder of its own (local or ``s3://``), named by its call key::

    <call>/input.pkl    what to run: the code's location and the pickled task call
    <call>/output.pkl   what happened: the value, or the error and its traceback

``bridge oneshot <call>`` runs it (:func:`run_packaged_call`). The workflow's code
travels as a folder mounted into the container or as a ``.tar.gz`` of its ``*.py``
files (:func:`code_archive`); tasks pickle by reference, so the far side imports the
workflow's module from it before unpickling the call.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from bridge.native.executors.base import Work
from bridge.native.filesystem import get_filesystem
from bridge.native.runner import Outcome, dump_outcome, load_outcome, run_body

INPUT = "input.pkl"
OUTPUT = "output.pkl"
BODY_FAILED_EXIT = 1  # the body raised: the output holds the error; not worth retrying
_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages"}


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


# -- the workflow's code ------------------------------------------------------------------


def code_root(task: Any) -> str | None:
    """The folder to put on ``sys.path`` so the task's module imports by its name, or
    None when the module comes with bridge itself (or has no file)."""
    module = sys.modules.get(task.func.__module__)
    file = getattr(module, "__file__", None)
    if module is None or not file or module.__name__.split(".")[0] == "bridge":
        return None
    path = Path(file).resolve()
    depth = module.__name__.count(".") + (path.name == "__init__.py")
    root = path.parent
    for _ in range(depth):
        root = root.parent
    return str(root)


def code_archive(root: str) -> tuple[str, bytes]:
    """A deterministic ``.tar.gz`` of the ``*.py`` files under ``root`` and its sha256
    (so unchanged code is uploaded once). Hidden folders, virtualenvs and caches are
    left out."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped, tarfile.open(
        fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT
    ) as tar:
        for path in _python_files(Path(root)):
            data = path.read_bytes()
            info = tarfile.TarInfo(str(path.relative_to(root)))
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    data = buffer.getvalue()
    return hashlib.sha256(data).hexdigest(), data


def _python_files(root: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and d not in _SKIP_DIRS
            and not (Path(folder) / d / "pyvenv.cfg").exists()
        )
        found += [Path(folder) / name for name in sorted(files) if name.endswith(".py")]
    return found


def _use_code(code: str | None) -> None:
    """Make the workflow's code importable: a folder as it is, an archive unpacked once."""
    if not code:
        return
    folder = code
    if "://" in code or not os.path.isdir(code):
        cache = os.path.join(tempfile.gettempdir(), "bridge-code")
        os.makedirs(cache, exist_ok=True)
        folder = os.path.join(cache, Path(code).name.removesuffix(".tar.gz"))
        if not os.path.isdir(folder):
            unpacking = tempfile.mkdtemp(dir=cache)
            data = get_filesystem(code).read_bytes(code)
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                # (Python before 3.11.4 has no extraction filters; the archive is ours)
                safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(unpacking, **safe)
            os.replace(unpacking, folder)
    if folder not in sys.path:
        sys.path.insert(0, folder)


# -- the call -----------------------------------------------------------------------------


def pack_call(work: Work, code: str | None) -> bytes:
    """The input file: the code's location beside the pickled call, so the far side can
    make the code importable before it unpickles the task."""
    call = pickle.dumps((work.task, work.args, work.kwargs), protocol=5)
    return pickle.dumps({"code": code, "call": call}, protocol=5)


def run_packaged_call(call: str, job_id: str = "remote") -> int:
    """Run the call packaged in folder ``call`` and write its output there; the exit
    code says whether the body succeeded."""
    fs = get_filesystem(call)
    package = pickle.loads(fs.read_bytes(join(call, INPUT)))
    task_name = "the task"
    try:
        _use_code(package["code"])
        task, args, kwargs = pickle.loads(package["call"])
    except Exception as error:
        import traceback

        outcome = Outcome(job_id, False, error=error, traceback=traceback.format_exc())
    else:
        task_name = task.fullname
        outcome = run_body(job_id, task.func, args, kwargs)
    fs.write_bytes(join(call, OUTPUT), dump_outcome(outcome, task_name, "its container"))
    return 0 if outcome.ok else BODY_FAILED_EXIT


def run_array_member(manifest: str, index: int | None = None) -> int:
    """Run member ``index`` of an array job (by default the one Batch says this is)."""
    if index is None:
        index = array_index()
    calls = json.loads(get_filesystem(manifest).read_bytes(manifest))["calls"]
    return run_packaged_call(calls[index])


def array_index() -> int:
    """This array child's index. Batch sets AWS_BATCH_JOB_ARRAY_INDEX; a child's job id
    is ``<array id>:<index>`` as well, which is all some stand-ins (moto) provide."""
    index = os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX")
    if index is None:
        job_id = os.environ.get("AWS_BATCH_JOB_ID", "")
        index = job_id.rpartition(":")[2] if ":" in job_id else None
    if index is None:
        raise RuntimeError("not an array job: AWS_BATCH_JOB_ARRAY_INDEX is not set")
    return int(index)


def read_outcome(call: str, job_id: str) -> Outcome | None:
    """The call's output, or None when it never wrote one (the container died first)."""
    try:
        data = get_filesystem(call).read_bytes(join(call, OUTPUT))
    except FileNotFoundError:
        return None
    return load_outcome(data, job_id)


def with_log_tail(outcome: Outcome, where: str, tail: str) -> Outcome:
    """Attach the end of a job's log to its error, in the recorded text and as a note."""
    if tail and outcome.error is not None:
        text = f"--- last lines of {where} ---\n{tail}"
        outcome.error.add_note(text)
        outcome.traceback = (outcome.traceback + "\n" if outcome.traceback else "") + text
    return outcome
