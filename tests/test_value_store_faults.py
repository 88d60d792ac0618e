"""The value store as a user meets its faults: damaged, swapped or missing value files, a
moved project, and a value store that cannot be written (full, read-only, not a folder)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.native.hashing import hash_value
from bridge.native.values import DamagedValueError, ValueStore, dumps
from workflows import bridge, ran_tasks, tmpfs, write_workflow

# inline_limit = 100 below: a 1,000-character result goes to the value store.
BIG = """
@task()
def big(n: int) -> str:
    ran("big")
    return "x" * n
"""


def _project(folder: Path, value_store: str | None = None) -> None:
    folder.mkdir(exist_ok=True)
    (folder / ".bridge").mkdir()
    store_line = f"value_store = {value_store}\n" if value_store else ""
    (folder / ".bridge" / "bridge.ini").write_text(
        f"[backend]\ninline_limit = 100\n{store_line}")
    write_workflow(folder, BIG)


def _value_file(folder: Path, value: str) -> Path:
    value_hash = hash_value(value)
    return folder / ".bridge" / "values" / value_hash[:2] / value_hash


def _truncate(path: Path, _other: Path) -> None:
    path.write_bytes(path.read_bytes()[:-10])


def _flip_a_byte(path: Path, _other: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-20] ^= 1
    path.write_bytes(bytes(data))


def _swap(path: Path, other: Path) -> None:
    shutil.copyfile(other, path)  # a whole, valid value file, of another value


def _delete(path: Path, _other: Path) -> None:
    path.unlink()


@pytest.mark.parametrize("damage", [_truncate, _flip_a_byte, _swap, _delete],
                         ids=["truncated", "corrupt", "swapped", "deleted"])
def test_a_damaged_value_file_runs_the_call_again_and_is_rewritten(
        workdir: Path, damage: Callable[[Path, Path], None]) -> None:
    _project(workdir)
    bridge(workdir, "run", "workflow.py", "big", "--n", "1000")
    assert ran_tasks(workdir) == ["big"]
    other = "y" * 1000  # another value's file, as a run of other(1000) writes it
    ValueStore(workdir / ".bridge" / "values").put(hash_value(other), dumps(other))
    damage(_value_file(workdir, "x" * 1000), _value_file(workdir, other))

    rerun = bridge(workdir, "run", "workflow.py", "big", "--n", "1000")
    assert ran_tasks(workdir) == ["big"]  # never a replay of the damaged file
    assert "x" * 1000 in rerun.stdout and "y" * 100 not in rerun.stdout
    assert "running it again" in rerun.stderr

    third = bridge(workdir, "run", "workflow.py", "big", "--n", "1000")
    assert ran_tasks(workdir) == []  # the re-run wrote the file afresh: replayed
    assert "x" * 1000 in third.stdout and "running it again" not in third.stderr


def test_a_moved_project_replays_its_large_values(workdir: Path) -> None:
    """Rows name the path a value was written to; after the project folder (store and
    value store beside it) moves, the value is found in the value store it uses now."""
    _project(workdir / "before")
    bridge(workdir / "before", "run", "workflow.py", "big", "--n", "1000")
    assert ran_tasks(workdir / "before") == ["big"]
    shutil.move(workdir / "before", workdir / "after")
    result = bridge(workdir / "after", "run", "workflow.py", "big", "--n", "1000")
    assert ran_tasks(workdir / "after") == [] and "x" * 1000 in result.stdout


def test_a_damaged_file_in_an_s3_value_store_is_refused_and_removed(s3_bucket: str) -> None:
    store = ValueStore(f"s3://{s3_bucket}/values")
    location = store.put("ab" * 32, b"the value")
    other = store.put("cd" * 32, b"another value")
    store.filesystem.copy(other, location)
    with pytest.raises(DamagedValueError, match="does not hold value abababababab"):
        store.get(location, "ab" * 32)
    assert not store.filesystem.exists(location)
    store.put("ab" * 32, b"the value")  # what the call's re-run does
    assert store.get(location, "ab" * 32) == b"the value"


# -- a value store that cannot be written ----------------------------------------------


@pytest.fixture
def not_a_folder(workdir: Path) -> Iterator[tuple[str, str]]:
    """value_store names a path beneath a regular file: every write fails (ENOTDIR), for
    root too, which a read-only folder does not stop."""
    (workdir / "blocker").write_text("a file, not a folder")
    yield str(workdir / "blocker" / "values"), "ENOTDIR"


@pytest.fixture
def read_only(workdir: Path) -> Iterator[tuple[str, str]]:
    """A read-only value store: a folder without write permission, or, for root (whom
    permissions do not stop), a file system mounted read-only."""
    folder = workdir / "readonly"
    if os.geteuid() == 0:
        with tmpfs(folder, "ro,size=64k"):
            yield str(folder), "EROFS"
        return
    folder.mkdir()
    folder.chmod(0o555)
    yield str(folder), "EACCES"
    folder.chmod(0o755)


@pytest.fixture
def full(workdir: Path) -> Iterator[tuple[str, str]]:
    """A real full disk: a 64 KiB tmpfs."""
    with tmpfs(workdir / "tiny", "size=64k"):
        yield str(workdir / "tiny"), "ENOSPC"


@pytest.mark.parametrize("fault", ["not_a_folder", "read_only", "full"])
def test_an_unwritable_value_store_says_what_failed_and_what_to_do(
        workdir: Path, fault: str, request: pytest.FixtureRequest) -> None:
    value_store, code = request.getfixturevalue(fault)
    _project(workdir, value_store)
    result = bridge(workdir, "run", "workflow.py", "big", "--n", "200000", check=False)
    assert result.returncode != 0
    assert f"value store {value_store}: {value_store}" in result.stderr  # the path
    assert f"({code})" in result.stderr  # and why
    assert "value_store" in result.stderr and "bridge.ini" in result.stderr  # what to do
    assert "pickle" not in result.stderr and "Traceback" not in result.stderr
    # Pointed elsewhere, the same call runs and is stored.
    (workdir / ".bridge" / "bridge.ini").write_text("[backend]\ninline_limit = 100\n")
    bridge(workdir, "run", "workflow.py", "big", "--n", "200000")
    assert _value_file(workdir, "x" * 200000).is_file()
