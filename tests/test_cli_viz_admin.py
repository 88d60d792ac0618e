"""`bridge viz`, `bridge init`, `bridge db`, `--version` and `--help`."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bridge.native.schema import SCHEMA_VERSION
from cli_helpers import (
    BRIDGE,
    as_version,
    assert_user_error,
    invoke,
    subprocess_env,
    write_workflow,
)


@pytest.fixture
def recorded(workdir: Path) -> Path:
    write_workflow(workdir)
    assert invoke("run", "wf.py", "main", "--n", "3").exit_code == 0
    return workdir


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_viz_draws_the_call_graph(recorded: Path) -> None:
    dot = invoke("viz", "-o", "graph.dot")
    assert dot.exit_code == 0, dot.output
    source = Path("graph.dot").read_text()
    assert source.count("three.") == 4  # one node per job
    assert 'label="data"' in source and 'label="squares"' in source  # dataflow edges
    assert "style=dashed" in source  # parent -> child
    assert "#b7e4c7" in source  # DONE colour
    assert invoke("viz", "-", "-o", "graph.png").exit_code == 0
    width, height = _png_size(Path("graph.png"))
    assert width > 300 and height > 80
    assert invoke("viz", "-o", "graph.svg").exit_code == 0
    assert "<svg" in Path("graph.svg").read_text()
    assert invoke("viz", "-o", "graph.html").exit_code == 0
    page = Path("graph.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "three.square" in page


def test_viz_of_an_execution_by_id_prefix_colours_failures(recorded: Path) -> None:
    assert invoke("run", "wf.py", "boom", "--message", "kaput").exit_code == 1
    executions = json.loads(invoke("log", "--format", "json").output)["executions"]
    failed = next(e["execution_id"] for e in executions if e["status"] == "FAILED")
    assert invoke("viz", failed[:8], "-o", "failed.dot").exit_code == 0
    source = Path("failed.dot").read_text()
    assert "three.boom" in source and "FAILED" in source and "#f4a6a6" in source
    assert "three.main" not in source  # only that execution's jobs


def test_viz_bad_inputs(recorded: Path) -> None:
    assert_user_error(invoke("viz", "-o", "graph.jpeg"), ".png")
    assert_user_error(invoke("viz", "nosuch", "-o", "g.svg"), "nosuch")
    for command in (["viz", "-o", "nodir/g.svg"], ["report", "-o", "nodir/r.html"],
                    ["run", "--dryrun", "--viz", "nodir/plan.dot", "wf.py", "main"],
                    ["viz", "--dryrun", "-o", "nodir/plan.svg", "wf.py", "main"]):
        assert_user_error(invoke(*command), "nodir/", "cannot write", "folder exists")
    assert not Path("nodir").exists()


def test_init_writes_a_valid_commented_config_and_a_store(workdir: Path) -> None:
    result = invoke("init")
    assert result.exit_code == 0, result.output
    ini = workdir / ".bridge" / "bridge.ini"
    assert ini.read_text().startswith("# bridge configuration")
    assert (workdir / ".bridge" / "bridge.db").exists()
    assert "left as it is" in invoke("init").output
    info = invoke("db", "info")
    assert f"Schema version: {SCHEMA_VERSION} (this bridge: {SCHEMA_VERSION})" in info.output
    assert "executions" in info.output
    write_workflow(workdir)
    assert invoke("run", "wf.py", "main", "--n", "2").exit_code == 0  # the template is valid


def test_config_option_picks_the_folder_for_every_command(workdir: Path) -> None:
    assert "Wrote elsewhere/bridge.ini" in invoke("init", "elsewhere").output
    write_workflow(workdir)
    ran = invoke("run", "--config", "elsewhere", "wf.py", "main", "--n", "2")
    assert ran.exit_code == 0, ran.output
    assert not (workdir / ".bridge").exists()  # nothing went to the default folder
    assert invoke("log", "--config", "elsewhere").output.count("Exec ") == 1
    assert invoke("viz", "--config", "elsewhere", "-o", "g.dot").exit_code == 0
    assert "three.square" in Path("g.dot").read_text()
    assert "elsewhere/bridge.db" in invoke("db", "info", "--config", "elsewhere").output
    assert_user_error(invoke("log"), "bridge init")  # the default folder has no store
    (workdir / "elsewhere" / "bridge.ini").write_text("[backend]\nnope = 1\n")
    assert_user_error(invoke("log", "--config", "elsewhere"), "elsewhere/bridge.ini", "nope")


def test_db_upgrade_sets_up_an_unversioned_database(workdir: Path) -> None:
    db = workdir / "old.db"
    create_engine(f"sqlite:///{db}").connect().close()  # an empty database file
    env = {"BRIDGE_DB_URI": f"sqlite:///{db}"}
    assert "Schema version: 0" in invoke("db", "info", env=env).output
    assert_user_error(invoke("log", env=env), "bridge init")
    upgraded = invoke("db", "upgrade", env=env)
    assert f"schema version {SCHEMA_VERSION}" in upgraded.output
    assert "up to date" in invoke("db", "upgrade", env=env).output
    with create_engine(f"sqlite:///{db}").begin() as conn:
        conn.execute(text("UPDATE bridge_meta SET value='99' WHERE key='schema_version'"))
    assert_user_error(invoke("db", "upgrade", env=env), "99", "upgrade bridge")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_db_upgrade_takes_a_version_1_store_to_the_current_version(
        workdir: Path, backend: str, request: pytest.FixtureRequest) -> None:
    if backend == "sqlite":
        uri = f"sqlite:///{workdir / '.bridge' / 'bridge.db'}"
    else:
        uri = request.getfixturevalue("postgres_uri")
    env = {"BRIDGE_DB_URI": uri}
    write_workflow(workdir)
    assert invoke("run", "wf.py", "main", "--n", "7", env=env).exit_code == 0
    as_version(uri, 1)
    assert_user_error(invoke("run", "wf.py", "main", "--n", "7", env=env), "version 1",
                      "bridge db upgrade")
    upgraded = invoke("db", "upgrade", env=env).output
    assert f"to schema version {SCHEMA_VERSION}" in upgraded
    # the earlier record still reads
    assert "three.main" in invoke("log", "-", env=env).output

    replayed = invoke("run", "wf.py", "main", "--n", "7", env=env)
    assert replayed.exit_code == 0, replayed.output
    all_row = next(line for line in replayed.output.splitlines() if "| ALL" in line)
    # the entry is kept and replays; written without subtree counts (as before version 2),
    # the table counts the replayed parent alone
    assert all_row.split()[-6:] == ["0", "0", "0", "1", "0", "1"]


def test_version_and_help_in_a_real_process(workdir: Path) -> None:
    version = subprocess.run([BRIDGE, "--version"], capture_output=True, text=True,
                             env=subprocess_env(), check=True)
    assert version.stdout.startswith("bridge, version")
    # python -m bridge: the command where another `bridge` (iproute2's) comes first
    as_module = subprocess.run([str(Path(BRIDGE).parent / "python"), "-m", "bridge", "--version"],
                               capture_output=True, text=True, env=subprocess_env(), check=True)
    assert as_module.stdout == version.stdout
    helped = subprocess.run([BRIDGE, "--help"], capture_output=True, text=True,
                            env=subprocess_env(), check=True)
    for command in ("run", "log", "viz", "init", "db"):
        assert f"  {command} " in helped.stdout
    # the fast path stays light: no SQLAlchemy, pydantic or rich behind --help
    probe = subprocess.run(
        [str(Path(BRIDGE).parent / "python"), "-c",
         "import sys; from bridge.cli import cli; "
         "print(sorted(m for m in ('sqlalchemy', 'pydantic', 'rich') if m in sys.modules))"],
        capture_output=True, text=True, env=subprocess_env(), check=True)
    assert probe.stdout.strip() == "[]"


def test_db_commands_on_a_missing_store_create_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    for command in ("info", "upgrade"):
        result = invoke("db", command, "--config", str(missing))
        assert_user_error(result, "no bridge store at")
    assert not missing.exists()
