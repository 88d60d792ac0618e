"""A store that cannot be written part-way through a run: the record is written by a
thread of its own while the run goes on (bridge.native.store_writer), and its failure
must still fail the run, with the driver's error, and leave the store whole and usable."""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing, suppress
from pathlib import Path

import pytest

from bridge.native.recording import Recorder
from bridge.native.store import CallGraphStore
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


def _tag_rows(recorder: Recorder, name: str, count: int) -> None:
    """``count`` rows of about 100 bytes each for the next batch."""
    recorder.tags("execution", name, [(f"{name}-{i}", "v" * 80) for i in range(count)])


def _fill(folder: Path) -> Path:
    """A file taking every free byte of the file system at ``folder``."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out, suppress(OSError):  # ENOSPC: full
        while True:
            out.write(b"\0" * 65536)
    return filler


def test_a_write_that_fails_is_raised_in_the_loop_and_written_at_the_end(workdir: Path) -> None:
    """The writer thread's failure reaches the loop; the batch it could not write is
    kept, and written, in order, before the last one once the disk has room again."""
    with tmpfs(workdir / "tiny", "size=4m"):
        database = workdir / "tiny" / "bridge.db"
        store = CallGraphStore(f"sqlite:///{database}").open()
        recorder = Recorder(store, "-", flush_interval=1)
        _tag_rows(recorder, "first", 10)
        recorder.flush(wait=False)
        recorder.wait_for_writes()
        filler = _fill(workdir / "tiny")
        _tag_rows(recorder, "second", 5000)  # larger than the log SQLite may reuse
        recorder.flush(wait=False)
        with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
            recorder.wait_for_writes()
        filler.unlink()
        _tag_rows(recorder, "third", 10)
        recorder.flush()  # the failed batch again, then this one
        store.close()
        with closing(sqlite3.connect(database)) as conn:
            counts = dict(conn.execute("SELECT entity_id, count(*) FROM tags GROUP BY 1"))
        assert counts == {"first": 10, "second": 5000, "third": 10}
