"""The dependency arrows of the design: `bridge` -> `adapters` -> `native`. The engine
imports neither the front door nor the adapters; an adapter imports the engine and its
own package only (its orchestrator aside), never `bridge.config`, `bridge.cli`, ... nor
another adapter."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bridge_imports(folder: Path) -> dict[str, set[str]]:
    """{file: the bridge.* modules it imports}, for every Python file under ``folder``."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[str(path.relative_to(ROOT))] = {n for n in names if n.split(".")[0] == "bridge"}
    return found


def test_the_engine_imports_only_itself() -> None:
    wrong = {path: sorted(n for n in names if not n.startswith("bridge.native"))
             for path, names in bridge_imports(ROOT / "native").items()}
    assert {path: names for path, names in wrong.items() if names} == {}


def test_an_adapter_imports_the_engine_and_itself_only() -> None:
    for adapter in sorted(p for p in (ROOT / "adapters").iterdir() if p.is_dir()):
        own = f"bridge.adapters.{adapter.name}"
        wrong = {path: sorted(n for n in names
                              if not n.startswith(("bridge.native", own)))
                 for path, names in bridge_imports(adapter).items()}
        assert {path: names for path, names in wrong.items() if names} == {}, adapter.name
