"""A shared store under load: N concurrent `bridge run` processes of a K-task fan-out
against one PostgreSQL database and against one SQLite file, all released at the same
instant (they create the store together, then record the same leaf calls in different
orders). Checks that every run exits 0 with the right result and that the store holds
exactly the rows the runs made (executions, jobs, cache entries, values); prints the wall
time per backend from the release until the last run ended.

Usage (from the repo root):

    .venv/bin/python bench/bench_store_load.py [--runs 10] [--tasks 1000]
        [--backend both|sqlite|postgresql] [--pg-uri postgresql://USER@HOST:PORT/DB]

Without --pg-uri it starts a private PostgreSQL cluster (initdb + pg_ctl, as the tests
do); with it, each run of the harness creates a new database on that server. Exits 1 when
a check fails. tests/test_store_sharing.py runs it at small scale.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from pg_cluster import fresh_database, postgres_cluster
from store_helpers import (
    FANOUT,
    clean_env,
    failures,
    fan_runs,
    fanout_rows,
    fanout_total,
    race,
    store_rows,
)


def load(folder: Path, db_uri: str, runs: int, tasks: int) -> tuple[float, list[str]]:
    """Race the runs against ``db_uri``; the wall time and what went wrong (if anything)."""
    (folder / "wf.py").write_text(FANOUT)
    finished, seconds = race(folder, fan_runs(runs, tasks), clean_env(BRIDGE_DB_URI=db_uri))
    problems = [failures(finished)] if failures(finished) else []
    wrong = [run for run in finished
             if run.returncode == 0 and run.stdout.strip() != str(fanout_total(tasks))]
    problems += [f"wrong result {run.stdout.strip()!r} from {' '.join(run.args)}"
                 for run in wrong]
    rows, expected = store_rows(db_uri), fanout_rows(runs, tasks)
    if rows != expected:
        problems.append(f"rows {rows}, expected {expected}")
    return seconds, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="concurrent bridge runs")
    parser.add_argument("--tasks", type=int, default=1000, help="leaves of each fan-out")
    parser.add_argument("--backend", choices=["both", "sqlite", "postgresql"], default="both")
    parser.add_argument("--pg-uri", help="a PostgreSQL server to use (default: start one)")
    args = parser.parse_args()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    print(f"{args.runs} concurrent `bridge run` of a {args.tasks}-task fan-out")
    print(f"{'backend':<12} {'wall (s)':>9}  checks")
    failed = False
    with tempfile.TemporaryDirectory(prefix="bridge-load-") as tmp:
        for backend in backends:
            folder = Path(tmp) / backend
            folder.mkdir()
            if backend == "sqlite":
                seconds, problems = load(folder, f"sqlite:///{folder / 'bridge.db'}",
                                         args.runs, args.tasks)
            else:
                with nullcontext(args.pg_uri) if args.pg_uri else postgres_cluster() as server:
                    seconds, problems = load(folder, fresh_database(server, "bridge_load"),
                                             args.runs, args.tasks)
            print(f"{backend:<12} {seconds:>9.2f}  {'ok' if not problems else 'FAILED'}")
            for problem in problems:
                print(problem)
            failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
