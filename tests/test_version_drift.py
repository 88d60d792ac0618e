"""Version drift: a task pinned with version= whose source was edited keeps replaying (the
version contract), with one warning per run naming the task and the fix; accepting the
source (`--accept-version`) is recorded in the store and silences it until the next edit."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from bridge.native import schema
from cli_helpers import as_version
from test_read_alignment import EXAMPLE, LOCAL_CONFIG, missing_tools
from workflows import BRIDGE, bridge, ran_tasks, write_workflow

PINNED = """
@task(version="1")
def scale(x: int) -> int:
    ran("scale")
    return x * 2


@task()
def main(n: int = 3, label: str = "a") -> list:
    ran("main")
    return [scale(i) for i in range(n)]
"""
WARNING = "[bridge] warning: "


def warnings_in(result: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith(WARNING)]


def edit(folder: Path, old: str, new: str, name: str = "workflow.py") -> None:
    path = folder / name
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def all_row(result: subprocess.CompletedProcess) -> dict[str, int]:
    """The status table's ALL row: jobs per status."""
    line = next(line for line in result.stderr.splitlines() if "| ALL" in line)
    counts = [int(word) for word in line.split()[-6:]]
    return dict(zip(["PENDING", "RUNNING", "FAILED", "CACHED", "DONE", "TOTAL"], counts,
                    strict=True))


def accept_command(warning: str) -> list[str]:
    """The `bridge run --accept-version ...` command the warning says to copy, as argv."""
    command = shlex.split(warning.rpartition(": ")[2])
    assert command[:3] == ["bridge", "run", "--accept-version"], warning
    return command[1:]


def test_an_edited_pinned_task_warns_once_per_run_and_still_replays(workdir: Path) -> None:
    write_workflow(workdir, PINNED)
    first = bridge(workdir, "run", "workflow.py", "main", "--n", "3")
    assert warnings_in(first) == []  # nothing recorded for version 1 yet
    assert ran_tasks(workdir) == ["main", "scale", "scale", "scale"]

    edit(workdir, "x * 2", "x * 3")
    replayed = bridge(workdir, "run", "workflow.py", "main", "--n", "3")
    assert ran_tasks(workdir) == []  # the version contract: everything replays
    assert replayed.stdout.strip() == "[0, 2, 4]"
    [warning] = warnings_in(replayed)
    assert "task scale is pinned at version '1'" in warning
    assert "bump its version" in warning
    assert warning.endswith("bridge run --accept-version scale=1 workflow.py main --n 3")

    # the parent runs again (a new argument), its three calls of scale replay: one warning
    relabelled = bridge(workdir, "run", "workflow.py", "main", "--n", "3", "--label", "b")
    assert ran_tasks(workdir) == ["main"]
    assert len(warnings_in(relabelled)) == 1

    planned = bridge(workdir, "run", "--dryrun", "workflow.py", "main", "--n", "3")
    assert "DRIFT      scale (version '1')" in planned.stdout
    assert "--accept-version scale=1" in planned.stdout
    assert warnings_in(planned) == []

    # the command the warning prints accepts this source: silent now, and afterwards
    accepted = bridge(workdir, *accept_command(warning))
    assert warnings_in(accepted) == [] and ran_tasks(workdir) == []
    assert warnings_in(bridge(workdir, "run", "workflow.py", "main", "--n", "3")) == []
    assert "DRIFT" not in bridge(workdir, "run", "--dryrun", "workflow.py", "main").stdout

    # another edit drifts again; the earlier sources stay accepted
    edit(workdir, "x * 3", "x * 4")
    assert len(warnings_in(bridge(workdir, "run", "workflow.py", "main", "--n", "3"))) == 1
    edit(workdir, "x * 4", "x * 3")
    assert warnings_in(bridge(workdir, "run", "workflow.py", "main", "--n", "3")) == []
    assert ran_tasks(workdir) == []

    # bumping the version runs the new code, silently
    edit(workdir, "x * 3", "x * 4")
    edit(workdir, 'version="1"', 'version="2"')
    bumped = bridge(workdir, "run", "workflow.py", "main", "--n", "3")
    assert warnings_in(bumped) == []
    assert ran_tasks(workdir) == ["main", "scale", "scale", "scale"]
    assert bumped.stdout.strip() == "[0, 4, 8]"



def test_the_dry_run_plan_names_a_drifted_task_beneath_a_call_that_would_run(
        workdir: Path) -> None:
    """``main`` would run (new input text), so its calls are predicted from its last run;
    the pinned ``scale`` among them was edited: the plan says it drifted."""
    write_workflow(workdir, PINNED.replace("def main(n: int = 3",
                                           "def main(data: File, n: int = 3"))
    (workdir / "in.txt").write_text("one")
    bridge(workdir, "run", "workflow.py", "main", "--data", "in.txt")
    (workdir / "in.txt").write_text("two")
    edit(workdir, "x * 2", "x * 3")
    planned = bridge(workdir, "run", "--dryrun", "workflow.py", "main", "--data", "in.txt")
    assert "WOULD RUN  main(" in planned.stdout
    assert "scale(" in planned.stdout and "(predicted)" in planned.stdout
    assert "DRIFT      scale (version '1')" in planned.stdout


def test_the_command_to_copy_leaves_out_the_execution_id(workdir: Path) -> None:
    """An execution id is used once: the command the warning prints must not repeat it."""
    write_workflow(workdir, PINNED)
    bridge(workdir, "run", "workflow.py", "main")
    edit(workdir, "x * 2", "x * 3")
    named = bridge(workdir, "run", "--execution-id", "drift-run-1", "workflow.py", "main")
    [warning] = warnings_in(named)
    assert warning.endswith("bridge run --accept-version scale=1 workflow.py main")
    assert warnings_in(bridge(workdir, *accept_command(warning))) == []

def test_a_no_cache_run_makes_its_source_the_versions(workdir: Path) -> None:
    write_workflow(workdir, PINNED)
    bridge(workdir, "run", "workflow.py", "main")
    edit(workdir, "x * 2", "x * 3")
    forced = bridge(workdir, "run", "--no-cache", "workflow.py", "main")
    assert warnings_in(forced) == []  # nothing replays
    assert forced.stdout.strip() == "[0, 3, 6]"
    # the cached results are the new source's now: nothing to warn of
    assert warnings_in(bridge(workdir, "run", "workflow.py", "main")) == []
    assert ran_tasks(workdir) == ["main", "main", "scale", "scale", "scale", "scale", "scale",
                                  "scale"]


@pytest.mark.parametrize("pair, words", [
    ("scale=2", ["--accept-version scale=2", "version '1', not '2'"]),
    ("main=1", ["main has no version"]),
    ("nope=1", ["nope", "no task of that name"]),
    ("scale", ["TASK=VERSION"]),
])
def test_a_wrong_acceptance_is_a_clear_error(workdir: Path, pair: str, words: list[str]) -> None:
    write_workflow(workdir, PINNED)
    result = bridge(workdir, "run", "--accept-version", pair, "workflow.py", "main",
                    check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    for word in words:
        assert word in error, (word, error)
    assert ran_tasks(workdir) == []


def test_the_python_api_warns_once_with_a_user_warning(workdir: Path, scheduler) -> None:
    from bridge.loading import load_workflow
    from bridge.native.drift import VersionDriftWarning

    def run(**options: object) -> list[warnings.WarningMessage]:
        sys.modules.pop("pinned", None)  # load the edited file afresh
        workflow = load_workflow(str(workdir / "pinned.py"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scheduler.run(workflow.main(5), **options)
        return [w for w in caught if isinstance(w.message, VersionDriftWarning)]

    # a namespace: tests later in this process look tasks named main up by name
    write_workflow(workdir, 'bridge_namespace = "drift_api"\n' + PINNED, "pinned.py")
    assert run() == []
    edit(workdir, "x * 2", "x * 3", "pinned.py")
    [shown] = run()
    drift = shown.message
    assert isinstance(drift, UserWarning)
    assert shown.filename == __file__  # shown at the run(...) call, not inside bridge
    assert (drift.task_name, drift.version) == ("drift_api.scale", "1")
    assert "accept_versions={'drift_api.scale': '1'}" in str(drift)
    assert ran_tasks(workdir) == ["main", "scale", "scale", "scale", "scale", "scale"]
    assert run(accept_versions={"drift_api.scale": "1"}) == []
    assert run() == []
    assert ran_tasks(workdir) == []



def test_every_run_of_a_long_lived_process_warns(workdir: Path, scheduler) -> None:
    """Python shows a warning once per line under its default filter; a drift is told
    in each run, even when the runs come from one line (a loop, a worker)."""
    from bridge.loading import load_workflow
    from bridge.native.drift import VersionDriftWarning

    write_workflow(workdir, 'bridge_namespace = "drift_loop"\n' + PINNED, "looped.py")
    scheduler.run(load_workflow(str(workdir / "looped.py")).main(2))
    edit(workdir, "x * 2", "x * 3", "looped.py")
    sys.modules.pop("looped", None)
    workflow = load_workflow(str(workdir / "looped.py"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(2):
            scheduler.run(workflow.main(2))
    assert [type(w.message) for w in caught] == [VersionDriftWarning] * 2

@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_version_4_store_upgrades_with_the_recorded_sources(
        workdir: Path, backend: str, request: pytest.FixtureRequest) -> None:
    """The upgrade to schema 5 reads each pinned task's recorded source, so the first run
    after it already tells an edit; an acceptance is a row of its own."""
    if backend == "sqlite":
        uri = f"sqlite:///{workdir / '.bridge' / 'bridge.db'}"
    else:
        uri = request.getfixturevalue("postgres_uri")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")},
           "BRIDGE_DB_URI": uri}
    namespace = f"drift_{uuid.uuid4().hex[:8]}"  # a PostgreSQL store is shared by tests

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([BRIDGE, *args], cwd=workdir, env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result

    write_workflow(workdir, f"bridge_namespace = {namespace!r}\n" + PINNED)
    run("run", "workflow.py", "main")
    as_version(uri, 4)
    assert "to schema version 5" in run("db", "upgrade").stdout
    edit(workdir, "x * 2", "x * 3")
    [warning] = warnings_in(run("run", "workflow.py", "main"))
    assert f"task {namespace}.scale is pinned" in warning
    run(*accept_command(warning))
    assert warnings_in(run("run", "workflow.py", "main")) == []
    assert ran_tasks(workdir) == ["main", "scale", "scale", "scale"]  # the first run only

    engine = create_engine(uri)
    with engine.connect() as conn:
        scale_hash = select(schema.tasks.c.task_hash).where(
            schema.tasks.c.fullname == f"{namespace}.scale").scalar_subquery()
        rows = conn.execute(select(schema.task_sources).where(
            schema.task_sources.c.task_hash == scale_hash)).all()
    engine.dispose()
    # the source version 1 was first run with (from the upgrade), and the accepted one
    assert sorted((row.accepted is not None, "x * 3" in row.source) for row in rows) == [
        (False, False), (True, True)]


@pytest.mark.skipif(bool(missing_tools()), reason=f"{', '.join(missing_tools())} not "
                    "installed (scripts/system-deps.sh installs them)")
def test_an_edited_cutadapt_option_in_the_read_alignment_example_warns(tmp_path: Path) -> None:
    """Snakemake re-runs the jobs whose params changed; bridge keeps the version contract
    (nothing runs) and says which pinned task drifted."""
    root = tmp_path / "read_alignment"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(
        "__pycache__", "results", "bridge.db*", "values"))
    (root / ".bridge" / "bridge.ini").write_text(LOCAL_CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([BRIDGE, "run", *args, "workflow.py", "main"], cwd=root,
                                env=env, capture_output=True, text=True, timeout=1800)
        assert result.returncode == 0, result.stderr
        return result

    assert warnings_in(run()) == []
    edit(root, "--minimum-length {min_length}", "--minimum-length 60")
    again = run()
    [warning] = warnings_in(again)
    assert "task read_alignment.cut_adapters is pinned at version '1'" in warning
    assert warning.endswith("bridge run --accept-version read_alignment.cut_adapters=1 "
                            "workflow.py main")
    counts = all_row(again)
    assert counts["DONE"] == 0 and counts["CACHED"] > 0  # nothing ran
    assert "DRIFT      read_alignment.cut_adapters (version '1')" in run("--dryrun").stdout
