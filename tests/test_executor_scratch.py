"""The docker executor's default scratch folder is the user's own: job folders hold the
pickles a run loads back, and the temp folder is everyone's."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from workflows import bridge, write_workflow

SCRATCH_WORKFLOW = """
@task(executor="box")
def main() -> int:
    return 1
"""


def test_a_default_docker_scratch_folder_others_can_write_is_refused(
        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Job folders hold the pickles a run loads back, and the default scratch folder lives
    in the shared temp folder: one another user made, or may write into, is refused before
    any container starts (no Docker engine is needed to see it), and a fresh one is the
    user's alone."""
    from bridge.native.executors.docker import private_scratch

    temp = workdir / "temp"
    temp.mkdir()
    planted = temp / f"bridge-docker-{os.getuid()}"
    planted.mkdir()
    planted.chmod(0o777)
    write_workflow(workdir, SCRATCH_WORKFLOW)
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text(
        "[executors.box]\ntype = docker\nimage = nothing:here\n")
    monkeypatch.setenv("TMPDIR", str(temp))
    result = bridge(workdir, "run", "workflow.py", "main", check=False)
    assert result.returncode != 0
    assert f"the docker scratch folder {planted} is not this user's private folder" in (
        result.stderr)
    assert "drwxrwxrwx" in result.stderr and "[executors.box]" in result.stderr
    assert list(planted.iterdir()) == []  # no job folder was made there

    planted.rmdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    assert private_scratch("box") == str(planted)
    assert stat.S_IMODE(planted.stat().st_mode) == 0o700
