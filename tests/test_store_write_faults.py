"""A store that cannot be written part-way through a run: the failed write fails the run,
with the driver's error, and leaves the store whole and usable."""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from workflows import bridge, tmpfs, write_workflow

FANOUT = """
@task()
def leaf(i: int) -> int:
    return i


@task()
def fan(n: int) -> list:
    return [leaf(i) for i in range(n)]
"""
LEAVES = 10000  # several batches of rows, more than the tiny file system holds


def test_a_store_that_fills_up_mid_run_fails_the_run_and_stays_usable(workdir: Path) -> None:
    write_workflow(workdir, FANOUT)
    (workdir / ".bridge").mkdir()
    database = workdir / "tiny" / "bridge.db"
    (workdir / ".bridge" / "bridge.ini").write_text(f"[backend]\ndb_uri = sqlite:///{database}\n")
    with tmpfs(workdir / "tiny", "size=1m"):
        result = bridge(workdir, "run", "workflow.py", "fan", "--n", str(LEAVES), check=False)
        assert result.returncode == 1, result.stderr
        assert "database or disk is full" in result.stderr
        assert "Traceback" not in result.stderr
        with closing(sqlite3.connect(database)) as conn:  # every write was whole or not at all
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert "DONE" not in {row[0] for row in conn.execute("SELECT status FROM executions")}
        # Given room, the same store records the next run of the workflow whole.
        subprocess.run(["mount", "-o", "remount,size=64m", str(workdir / "tiny")], check=True)
        assert bridge(workdir, "run", "workflow.py", "fan", "--n", str(LEAVES)).returncode == 0
        with closing(sqlite3.connect(database)) as conn:
            finished = conn.execute(
                "SELECT count(*) FROM jobs JOIN executions USING (execution_id) "
                "WHERE executions.status = 'DONE' AND jobs.status IN ('DONE', 'CACHED')")
            assert finished.fetchone()[0] == LEAVES + 1
