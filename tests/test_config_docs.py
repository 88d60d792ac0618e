"""The docs' examples work as a user copies them: the bridge.ini examples are valid config,
comments and all; the README's Python runs as a script and as a workflow file; the shell
lines run as root too (where there is no sudo)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.config import Config

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([*ROOT.glob("docs/*.md"), *ROOT.glob("examples/*/README.md"), ROOT / "README.md"])
INI_BLOCK = re.compile(r"```ini\n(.*?)```", re.DOTALL)
EXAMPLES = [(doc, block) for doc in DOCS for block in INI_BLOCK.findall(doc.read_text())]


@pytest.mark.parametrize(("doc", "text"), EXAMPLES,
                         ids=[f"{doc.relative_to(ROOT)}-{i}" for i, (doc, _) in
                              enumerate(EXAMPLES)])
def test_a_documented_config_loads(doc: Path, text: str, tmp_path: Path) -> None:
    (tmp_path / "bridge.ini").write_text(text)
    config = Config.load(tmp_path)
    for executor in config.executors.values():
        for value in executor.model_dump().values():
            assert "#" not in str(value), (doc, value)


def test_inline_comments_are_not_part_of_values(tmp_path: Path) -> None:
    (tmp_path / "bridge.ini").write_text(
        "[backend]\ndb_uri = sqlite:///x.db   # a note\n"
        "[executors.batch]\ntype = aws_batch\nimage = worker:1  # tag\nqueue = q\n"
        "s3_scratch = s3://b/p\nmemory = 8          # GiB\n")
    config = Config.load(tmp_path)
    assert config.backend.db_uri == "sqlite:///x.db"
    batch = config.executors["batch"]
    assert batch.image == "worker:1" and batch.memory == 8


def test_the_docs_examples_are_found() -> None:
    assert len(EXAMPLES) >= 4


PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
SHELL_BLOCK = re.compile(r"```(?:sh|bash|shell)\n(.*?)```", re.DOTALL)


def test_the_readme_snippet_runs_as_a_script_and_as_a_workflow(tmp_path: Path) -> None:
    [snippet] = [block for block in PYTHON_BLOCK.findall((ROOT / "README.md").read_text())
                 if "Scheduler()" in block]
    assert 'if __name__ == "__main__":' in snippet
    (tmp_path / "workflow.py").write_text(snippet)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    bridge = str(Path(sys.executable).with_name("bridge"))

    def run(*command: str) -> str:
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert run(sys.executable, "workflow.py") == "[1, 2, 3]\n"
    assert run(sys.executable, "workflow.py") == "[1, 2, 3]\n"  # replayed this time
    replayed = json.loads(run(bridge, "log", "-", "--format", "json"))
    assert {status for counts in replayed["status_counts"].values() for status in counts} == {
        "CACHED"}
    # loading the file for `bridge run` runs nothing but the task asked for
    assert run(bridge, "run", "workflow.py", "main", "--n", "4") == "[1, 2, 3, 4]\n"


def test_no_documented_command_needs_sudo() -> None:
    """CI and containers run as root, often without sudo: scripts/system-deps.sh asks for
    sudo itself when it is not root."""
    lines = [(doc.relative_to(ROOT), line.strip()) for doc in DOCS
             for block in SHELL_BLOCK.findall(doc.read_text()) for line in block.splitlines()]
    assert any("scripts/system-deps.sh" in line for _, line in lines)
    assert [(doc, line) for doc, line in lines if line.startswith("sudo ")] == []
