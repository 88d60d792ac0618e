"""Helpers for tests that run workflow files in fresh processes, as a user would."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

BRIDGE = str(Path(sys.executable).with_name("bridge"))

# Each task of a test workflow appends its name to ran.log when its body runs.
PRELUDE = textwrap.dedent(
    """
    from bridge import task, File, cond, catch

    def ran(name):
        with open("ran.log", "a") as log:
            log.write(name + "\\n")
    """
)


def write_workflow(folder: Path, body: str, name: str = "workflow.py") -> Path:
    path = folder / name
    path.write_text(PRELUDE + textwrap.dedent(body))
    return path


def bridge(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    result = subprocess.run(
        [BRIDGE, *args], cwd=folder, capture_output=True, text=True, env=env, timeout=120
    )
    if check and result.returncode != 0:
        raise AssertionError(f"bridge {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def ran_tasks(folder: Path) -> list[str]:
    """The task bodies that ran since the last call (and forget them)."""
    log = folder / "ran.log"
    if not log.exists():
        return []
    names = log.read_text().split()
    log.unlink()
    return sorted(names)


@contextlib.contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[None]:
    """A real tmpfs on `folder` (needs the right to mount: root in a container with
    CAP_SYS_ADMIN, as on CI; skipped elsewhere)."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                             capture_output=True) if shutil.which("mount") else None
    if mounted is None or mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({options}) here")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)
