"""The floors under issue 14's last two targets: what the store's own writes cost, with
nothing of the engine around them.

Usage (from the repo root):

    .venv/bin/python bench/store_floors.py [--repeats 5]

Two models, bare ``sqlite3`` on stores bridge made (its schema, its pragmas, its
connections), each printed beside bridge's own runs of the same fan-out (each in a fresh
process, by ``bench/core.py``'s own child):

- *hits*: the 999 cache hits of a 1,000-leaf fan-out with one leaf changed, done as
  cheaply as any engine that records each hit could do them: each call hashed with
  bridge's hashing, all looked up with the store's lookup query (500 at a time), and a
  CACHED ``jobs`` row each inserted in one transaction. No job objects, no promises, no
  results decoded. Printed as a ratio to bridge's first run, the ratio the incremental
  target bounds (0.25).
- *writes*: the rows a first run of N calls leaves (a ``jobs`` row, a ``calls`` row and a
  ``stored_values`` row each, copied from a real run's with fresh random keys), written in
  transactions of ``BATCH_JOBS`` as the store writes them, at 1,000 and 100,000 calls. How
  much they grow per call is set against what the flatness target allows a first run to
  grow (0.25 of bridge's cost per task at 1,000).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workflows_bridge as workflows
from core import run_child

from bridge.native.bulk import where_in
from bridge.native.calling import call_hash_of
from bridge.native.hashing import hash_value
from bridge.native.record import chunks
from bridge.native.recording import BATCH_JOBS
from bridge.native.sqlite_file import SQLiteFile
from bridge.native.store import LOOKUP_CHUNK, LOOKUP_SQL

FANOUT = 1000
TIMEOUT = 300.0  # seconds for one of bridge's runs
# The row each model copies: a leaf's, so each row is the size a fan-out's rows are.
LEAF_ROWS = {"jobs": "WHERE task_name = 'add_one'",
             "calls": "WHERE call_hash IN (SELECT call_hash FROM jobs "
                      "WHERE task_name = 'add_one')",
             "stored_values": "WHERE type_name = 'int'"}
TABLES = tuple(LEAF_ROWS)
# The columns each model writes with a key of its own (the rest copied from a real row).
RANDOM_KEYS = {"jobs": ("job_id", "call_hash", "result_hash"),
               "calls": ("call_hash", "result_hash", "job_id"),
               "stored_values": ("value_hash",)}


def timed_run(workflow: str, n: int, folder: Path) -> float:
    """Seconds of bridge's run of ``workflow`` on ``n`` tasks, timed by ``bench/core.py``'s
    own child in a fresh process, on the store ``folder/bridge.db`` (a ``fanout_bump`` on a
    store that holds a run already changes one leaf: the incremental run)."""
    folder.mkdir(exist_ok=True)
    outcome = run_child("bridge", workflow, n, folder, TIMEOUT)
    if outcome.error:
        sys.exit(f"bridge's {workflow}({n}) failed: {outcome.error}")
    return outcome.seconds


def template(conn, table: str, where: str = "") -> tuple[list[str], list]:
    """The columns of ``table`` and one of its rows, as a list to fill in."""
    cursor = conn.execute(f"SELECT * FROM {table} {where} LIMIT 1")
    return [column[0] for column in cursor.description], list(cursor.fetchone())


def insert_sql(table: str, columns: list[str]) -> str:
    return (f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})")


def hit_floor(db: str) -> tuple[float, int]:
    """Seconds to hash, look up and record as CACHED the fan-out's unchanged leaves in the
    store ``db`` that ``fanout_bump(FANOUT, 0)`` left, and how many were found."""
    store = SQLiteFile(db)
    with store.reading() as conn:
        columns, row = template(conn, "jobs", LEAF_ROWS["jobs"])
    at = {name: columns.index(name) for name in ("job_id", "execution_id", "call_hash",
                                                  "status", "arguments")}
    row[at["status"]] = "CACHED"
    leaf, execution_id = workflows.add_one, os.urandom(16).hex()
    start = time.perf_counter()
    rows, call_hashes = [], []
    for i in range(1, FANOUT):
        arg_hash = hash_value(i)
        call_hash = call_hash_of(leaf, None, [arg_hash], {})
        call_hashes.append(call_hash)
        row[at["job_id"]] = f"{random.getrandbits(128):032x}"
        row[at["execution_id"]], row[at["call_hash"]] = execution_id, call_hash
        row[at["arguments"]] = f'[{{"name": "x", "hash": "{arg_hash}", "sources": []}}]'
        rows.append(tuple(row))
    found = 0
    with store.reading() as conn:
        for chunk in chunks(call_hashes, LOOKUP_CHUNK):
            found += len(conn.execute(where_in(LOOKUP_SQL, "calls.call_hash", len(chunk), "?"),
                                      chunk).fetchall())
    with store.transaction() as conn:
        conn.executemany(insert_sql("jobs", columns), rows)
    seconds = time.perf_counter() - start
    store.close()
    return seconds, found


def write_floor(folder: str, calls: int) -> float:
    """Seconds to write the rows of a first run of ``calls`` calls into a new store."""
    template_db = f"{folder}/template.db"
    if not os.path.exists(template_db):
        workflows.make_scheduler(template_db).run(workflows.fanout(10))
    with SQLiteFile(template_db).reading() as conn:
        templates = {table: template(conn, table, LEAF_ROWS[table]) for table in TABLES}
    db = f"{folder}/writes-{calls}-{random.getrandbits(32):x}.db"
    workflows.make_scheduler(db)  # the schema, as bridge makes a new store
    store = SQLiteFile(db)
    start = time.perf_counter()
    for first in range(0, calls, BATCH_JOBS):
        batch = {table: [] for table in TABLES}
        for _ in range(first, min(first + BATCH_JOBS, calls)):
            keys = {"job_id": f"{random.getrandbits(128):032x}",
                    "call_hash": f"{random.getrandbits(256):064x}",
                    "value_hash": f"{random.getrandbits(256):064x}"}
            keys["result_hash"] = keys["value_hash"]
            for table in TABLES:
                columns, row = templates[table]
                for name in RANDOM_KEYS[table]:
                    row[columns.index(name)] = keys[name]
                batch[table].append(tuple(row))
        with store.transaction() as conn:
            for table in TABLES:
                conn.executemany(insert_sql(table, templates[table][0]), batch[table])
    seconds = time.perf_counter() - start
    store.close()
    return seconds


def micro(seconds: float, count: int) -> float:
    return seconds / count * 1e6


def measure_hits(folder: str, repeats: int) -> None:
    first, incremental, floor = [], [], []
    for repeat in range(repeats):
        runs, copy = Path(folder) / f"hits-{repeat}", f"{folder}/hits-{repeat}-floor.db"
        first.append(micro(timed_run("fanout_bump", FANOUT, runs), FANOUT))
        with SQLiteFile(str(runs / "bridge.db")).reading() as source, \
                SQLiteFile(copy).reading() as target:
            source.backup(target)
        incremental.append(micro(timed_run("fanout_bump", FANOUT, runs), FANOUT))
        seconds, found = hit_floor(copy)
        if found != FANOUT - 1:
            sys.exit(f"the floor model found {found} entries, not {FANOUT - 1}: it no longer "
                     "hashes calls as bridge does")
        floor.append(micro(seconds, FANOUT - 1))
    first_run, hit, least = (statistics.median(xs) for xs in (first, incremental, floor))
    print(f"hits ({FANOUT:,}-leaf fan-out, one leaf changed; medians of {repeats}, µs):")
    print(f"  bridge first run        {first_run:7.1f} a task")
    print(f"  bridge incremental run  {hit:7.1f} a task  ({hit / first_run:.2f}x its first run)")
    print(f"  floor: hash, look up, insert a CACHED row  {least:5.1f} a hit "
          f"({least / first_run:.2f}x bridge's first run; the target is <= 0.25x)")


def measure_writes(folder: str, repeats: int, sizes: tuple[int, int]) -> None:
    small, large = sizes
    bridge_small = statistics.median(
        micro(timed_run("fanout", small, Path(folder) / f"first-{small}-{repeat}"), small)
        for repeat in range(repeats))
    floors = {size: statistics.median(micro(write_floor(folder, size), size)
                                      for _ in range(repeats if size == small else 1))
              for size in sizes}
    growth = floors[large] - floors[small]
    print(f"writes (rows of a first run, µs a call; bridge's first run of {small:,}: "
          f"{bridge_small:.1f} a task):")
    for size in sizes:
        print(f"  floor at {size:>7,} calls  {floors[size]:6.1f}")
    print(f"  the rows alone grow {growth:.1f} µs a call from {small:,} to {large:,}; the "
          f"target (<= 1.25x) lets a first run grow {0.25 * bridge_small:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--large", type=int, default=100_000,
                        help="the larger first run of the writes model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure_hits(folder, args.repeats)
        measure_writes(folder, args.repeats, (FANOUT, args.large))


if __name__ == "__main__":
    main()
