"""Workflows and helpers the CLI tests share."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from bridge.cli import cli

BRIDGE = str(Path(sys.executable).parent / "bridge")

# Three steps, each reading the file the previous one wrote.
THREE_STEPS = '''
"""Three steps linked by files."""
import enum
import os
import time
from bridge import Dir, File, task

bridge_namespace = "three"


class Color(enum.Enum):
    red = "r"
    blue = "b"


@task()
def make_data(n: int, out: str) -> File:
    """Write n numbers."""
    return File(f"{out}/data.txt").write("\\n".join(str(i) for i in range(n)))


@task()
def square(data: File, out: str) -> File:
    nums = [int(x) ** 2 for x in data.read().split()]
    return File(f"{out}/squares.txt").write("\\n".join(map(str, nums)))


@task()
def total(squares: File, out: str) -> dict:
    s = sum(int(x) for x in squares.read().split())
    return {"sum": s, "report": File(f"{out}/total.txt").write(str(s))}


@task()
def main(n: int = 5, out_dir: str = "out") -> dict:
    """Run the three steps."""
    return total(square(make_data(n, out_dir), out_dir), out_dir)


@task()
def kinds(count: int, ratio: float, names: list[str], path: File, color: Color,
          verbose: bool = False, limit: int | None = None, sizes: list[int] | None = None,
          folder: Dir | None = None) -> str:
    """Echo the arguments' types and values."""
    where = f"{type(folder).__name__}:{folder.path}" if folder else "no folder"
    return (f"{count!r} {ratio!r} {names!r} {type(path).__name__}:{path.path} {color.name} "
            f"{verbose!r} {limit!r} {sizes!r} {where}")


@task()
def where_am_i() -> int:
    """The id of the process the body ran in."""
    return os.getpid()


@task()
def boom(message: str) -> str:
    raise ValueError(message)


@task()
def nap(seconds: float, index: int) -> int:
    time.sleep(seconds)
    return index


@task()
def naps(width: int = 3, seconds: float = 1.0) -> list:
    """Sleep in parallel."""
    return [nap(seconds, i) for i in range(width)]


@task()
def fast_and_slow(seconds: float = 60.0) -> list:
    """One call finishes at once, the other sleeps."""
    return [nap(0.0, 0), nap(seconds, 1)]
'''


def write_workflow(folder: Path, name: str = "wf.py") -> Path:
    path = folder / name
    path.write_text(THREE_STEPS)
    return path


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """The CLI in this process (click's runner); stdout and stderr as a user sees them.
    Each test writes its own wf.py: forget the previous test's module of that name."""
    sys.modules.pop("wf", None)
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False,
                             prog_name="bridge")


def assert_user_error(result: Result, *words: str) -> None:
    """One clear error line naming what is wrong, a non-zero exit, no traceback."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    # nothing around it but click's usage hint, where the command line itself is wrong
    others = [line for line in result.output.splitlines() if line.strip()
              and line not in errors and not line.startswith(("Usage: ", "Try '"))]
    assert not others, result.output
    for word in words:
        assert word in errors[0], (word, errors[0])


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    env.update(extra)
    return env


# What each schema version added, undone newest first by `as_version`.
_ADDED_IN = {
    5: ["DROP TABLE task_sources", "ALTER TABLE jobs DROP COLUMN details"],
    4: ["DROP INDEX IF EXISTS ix_executions_started", "DROP INDEX IF EXISTS ix_jobs_job_id_prefix",
        "DROP INDEX IF EXISTS ix_calls_call_hash_prefix", "DROP TABLE call_files",
        *(f"ALTER TABLE executions DROP COLUMN {c}" for c in ("host", "pid", "process_start"))],
    3: ["ALTER TABLE jobs DROP COLUMN result_hash", "ALTER TABLE jobs DROP COLUMN result_files"],
    2: ["ALTER TABLE calls DROP COLUMN subtree_counts"],
}


def as_version(uri: str, version: int) -> None:
    """Make a store of this bridge's schema look as schema ``version`` left it."""
    from sqlalchemy import create_engine, text

    engine = create_engine(uri)
    with engine.begin() as conn:
        for added in sorted(_ADDED_IN, reverse=True):
            if added > version:
                for statement in _ADDED_IN[added]:
                    conn.execute(text(statement))
        conn.execute(text(f"UPDATE bridge_meta SET value='{version}' "
                          "WHERE key='schema_version'"))
    engine.dispose()
