"""The bridge.ini examples in the docs are valid config, comments and all, so a user can
copy them as they stand."""

from __future__ import annotations

import re
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
