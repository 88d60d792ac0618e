"""What a `bridge run` process loads: a project without a bridge.ini runs on the defaults
without pydantic, a run whose stderr is no terminal prints its status without rich, and a
run on a SQLite store that exists reads and writes it through sqlite3 without SQLAlchemy
(with the SQL text SQLAlchemy compiles, checked here); bridge's own modules that a run
does not use (the other commands, redun's config, the file tasks) load only when asked
for; asking for a task's help loads no store at all."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from pprint import pformat

import pytest

from cli_helpers import subprocess_env
from workflows import bridge

HEAVY = ("sqlalchemy", "pydantic", "rich")
# bridge's modules a cached run of WORKFLOW has no use for.
UNUSED = (
    "bridge.cli.admin", "bridge.cli.airflow", "bridge.cli.console", "bridge.cli.log",
    "bridge.cli.oneshot", "bridge.cli.prefect", "bridge.cli.viz", "bridge.failure",
    "bridge.native.graph", "bridge.redun_config", "bridge.threads",
)
WORKFLOW = '''
from bridge import task

@task()
def add_one(x: int) -> int:
    return x + 1

@task()
def main(n: int = 40) -> list:
    """A small fan-out."""
    return [add_one(i) for i in range(n)]
'''
# The CLI as its console script runs it, writing at exit which heavy packages it loaded.
PROBE = (
    "import atexit, sys\n"
    f"atexit.register(lambda: open('loaded.txt', 'w').write(' '.join(sorted("
    f"m for m in {(*HEAVY, *UNUSED)!r} if m in sys.modules))))\n"
    "from bridge.cli import main\n"
    "sys.argv = ['bridge', *sys.argv[1:]]\n"
    "main()\n"
)


def loaded_by(folder: Path, *args: str) -> tuple[set[str], subprocess.CompletedProcess]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=folder, text=True,
                          capture_output=True, env=subprocess_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    return set((folder / "loaded.txt").read_text().split()), done


def test_a_cached_run_without_bridge_ini_loads_neither_pydantic_nor_rich(workdir: Path) -> None:
    (workdir / "wf.py").write_text(WORKFLOW)
    first, ran = loaded_by(workdir, "run", "wf.py", "main")
    replayed, cached = loaded_by(workdir, "run", "wf.py", "main")
    assert first == {"sqlalchemy"}  # it created the store's schema
    assert replayed == set()
    assert cached.stdout == ran.stdout == pformat(list(range(1, 41)), width=100) + "\n"
    all_row = next(line for line in cached.stderr.splitlines() if "| ALL " in line)
    assert all_row.split()[-6:] == ["0", "0", "0", "41", "0", "41"]  # all CACHED


def test_a_cached_run_on_sqlite_records_its_hits_without_sqlalchemy(workdir: Path) -> None:
    (workdir / "wf.py").write_text(WORKFLOW)
    loaded_by(workdir, "run", "wf.py", "main")
    replayed, cached = loaded_by(workdir, "run", "wf.py", "main", "--n", "3")
    assert "sqlalchemy" not in replayed
    execution_id = re.search(r"id: ([0-9a-f-]{36})", cached.stderr)[1]  # type: ignore[index]

    view = json.loads(bridge(workdir, "log", execution_id, "--format", "json").stdout)
    assert view["execution_id"] == execution_id
    assert {job["call"]: job["status"] for job in view["jobs"]} == {
        "main(n=3)": "DONE", "add_one(x=0)": "CACHED", "add_one(x=1)": "CACHED",
        "add_one(x=2)": "CACHED"}
    hit = json.loads(bridge(workdir, "log", view["jobs"][-1]["job_id"], "--format",
                            "json").stdout)
    assert hit["status"] == "CACHED" and hit["execution_id"] == execution_id


def test_the_sqlite_statements_are_what_sqlalchemy_compiles() -> None:
    """The direct SQLite path runs plain SQL text: it must stay what SQLAlchemy compiles
    from the schema, or a schema change would write different columns there."""
    from sqlalchemy import JSON, create_engine, select

    from bridge.native import schema, sqlite_sql
    from bridge.native.store import SQLITE_STATEMENTS, compiled_statements

    engine = create_engine("sqlite://")
    compiled = compiled_statements(engine)
    for name in compiled._fields[:-1]:
        assert getattr(SQLITE_STATEMENTS, name) == getattr(compiled, name).compiled, name
    job_columns = tuple(f"b_{column.name}" for column in schema.jobs.c)
    for columns in [job_columns, ("b_ended", "b_job_id", "b_status"),
                    ("b_arguments", "b_details", "b_job_id", "b_result_files", "b_status")]:
        assert SQLITE_STATEMENTS.job_update(columns) == compiled.job_update(columns).compiled

    dialect = engine.dialect
    cached_task_hashes = select(schema.calls.c.task_hash).distinct()
    assert str(cached_task_hashes.compile(dialect=dialect)) == sqlite_sql.CACHED_TASK_HASHES
    version = select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
    assert str(version.compile(dialect=dialect)) == sqlite_sql.SCHEMA_VERSION_SQL
    # what inspect(conn).get_table_names() runs
    table_names = dialect._sqlite_main_query("sqlite_master", "table", None, False)
    assert table_names == sqlite_sql.TABLE_NAMES
    assert schema.meta.name == sqlite_sql.META_TABLE
    json_columns = {column.name for table in schema.metadata.tables.values()
                    for column in table.c if isinstance(column.type, JSON)}
    assert json_columns == sqlite_sql.JSON_COLUMNS


def test_a_cached_run_loads_none_of_the_modules_it_does_not_use(workdir: Path) -> None:
    (workdir / "wf.py").write_text(WORKFLOW)
    loaded_by(workdir, "run", "wf.py", "main")
    replayed, _ = loaded_by(workdir, "run", "wf.py", "main")
    assert replayed & set(UNUSED) == set()


def test_a_built_in_task_called_only_in_a_body_is_replayed(workdir: Path) -> None:
    # The second run never runs `copy`'s body, so only `import bridge` defines
    # bridge.copy_file then: its cache entry must still be valid.
    (workdir / "in.txt").write_text("data")
    (workdir / "wf.py").write_text(
        "import bridge\n\n@bridge.task()\ndef copy(path: str) -> bridge.File:\n"
        "    return bridge.copy_file(bridge.File(path), path + '.copy')\n")
    loaded_by(workdir, "run", "wf.py", "copy", "--path", "in.txt")
    _, cached = loaded_by(workdir, "run", "wf.py", "copy", "--path", "in.txt")
    all_row = next(line for line in cached.stderr.splitlines() if "| ALL " in line)
    assert all_row.split()[-6:] == ["0", "0", "0", "2", "0", "2"]  # all CACHED


def test_what_loads_on_first_use_is_still_there(workdir: Path) -> None:
    code = ("from bridge import copy_file, glob_file\n"
            "from bridge.scheduler import Thread, Traceback, fork_thread, join_thread\n"
            "from bridge.cli import cli\n"
            "print(copy_file.fullname, glob_file.fullname, Traceback.__module__, "
            "Thread.__module__, sorted(cli.list_commands(None)))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=workdir, text=True,
                          capture_output=True, env=subprocess_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(" ", 4) == [
        "bridge.copy_file", "bridge.glob_file", "bridge.failure", "bridge.threads",
        "['airflow', 'console', 'db', 'init', 'log', 'oneshot', 'prefect', 'report', 'run',"
        " 'viz']\n"]


def test_a_bridge_ini_is_still_validated(workdir: Path) -> None:
    (workdir / "wf.py").write_text(WORKFLOW)
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text("[scheduler]\nflush_intervall = 1\n")
    done = subprocess.run([sys.executable, "-c", PROBE, "run", "wf.py", "main"], cwd=workdir,
                          text=True, capture_output=True, env=subprocess_env(), timeout=120)
    assert done.returncode == 2
    assert "bridge.ini: [scheduler] flush_intervall: unknown key" in done.stderr


def test_task_help_loads_no_store(workdir: Path) -> None:
    (workdir / "wf.py").write_text(WORKFLOW)
    loaded, helped = loaded_by(workdir, "run", "wf.py", "main", "--help")
    assert "A small fan-out." in helped.stdout
    assert loaded == set()


def test_status_lines_without_rich_are_the_lines_rich_wrote(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rich.console import Console

    from bridge.status import PlainConsole, plain_table, summary_line

    counts = {"wf.add_one": {"CACHED": 1000}, "wf.main": {"CACHED": 1, "FAILED": 2}}
    lines = [plain_table(counts), summary_line(counts, 3.5)]
    written = io.StringIO()
    for line in lines:
        Console(file=written).print(line, markup=False, highlight=False, soft_wrap=True)
        PlainConsole().print(line, markup=False, highlight=False, soft_wrap=True)
    assert capsys.readouterr().err == written.getvalue()
