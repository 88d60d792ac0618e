"""Compare two copies of bridge on the fan-out, in turns: old, new, new, old, ...

Usage (from the repo root):

    .venv/bin/python bench/bench_turns.py OLD_ROOT NEW_ROOT [--sizes 1000,10000]
        [--pairs 10] [--incremental]

Each ROOT is a source tree whose ``bridge`` package is imported first (put on ``sys.path``
ahead of the editable install). In an extracted copy of older code, link its ``native`` and
``adapters`` folders into its ``bridge/`` folder (``ln -sfn ../native bridge/native``), or the
editable install maps ``bridge.native`` to the worktree and the "old" run is the new engine;
the child checks which engine it imported.

Every run is a fresh process timing ``scheduler.run`` of ``fanout(N)`` (``--incremental``: of
``fanout_bump(N, 1)`` after an untimed ``fanout_bump(N, 0)`` on the same store) against a new
SQLite file. It reports, per task, the wall time, the CPU time of the whole process (every
thread), the CPU time of the loop's thread alone, and the context switches: the medians of
each side, and its fastest wall time (the run least disturbed by other load). On a shared
machine wall time swings between identical runs: run in turns, many of them, and compare
the CPU figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core import child_env

BENCH = Path(__file__).resolve().parent
FIELDS = ("wall", "process_cpu", "loop_cpu", "switches")


def child(root: str, size: int, incremental: bool) -> None:
    sys.path[:0] = [root, str(BENCH)]
    import workflows_bridge as workflows

    import bridge.native.execution as engine

    if not engine.__file__.startswith(str(Path(root).resolve())):
        sys.exit(f"{root}: imported the engine at {engine.__file__} (link bridge/native?)")
    with tempfile.TemporaryDirectory() as folder:
        db = f"{folder}/bench.db"
        scheduler = workflows.make_scheduler(db)
        flow = workflows.fanout(size)
        if incremental:
            scheduler.run(workflows.fanout_bump(size, 0))
            scheduler = workflows.make_scheduler(db)
            flow = workflows.fanout_bump(size, 1)
        before = resource.getrusage(resource.RUSAGE_SELF)
        wall, cpu, loop = time.perf_counter(), time.process_time(), time.thread_time()
        scheduler.run(flow)
        wall, cpu, loop = (time.perf_counter() - wall, time.process_time() - cpu,
                           time.thread_time() - loop)
        after = resource.getrusage(resource.RUSAGE_SELF)
    switches = (after.ru_nvcsw + after.ru_nivcsw) - (before.ru_nvcsw + before.ru_nivcsw)
    print(json.dumps(dict(zip(FIELDS, (1e6 * wall / size, 1e6 * cpu / size,
                                       1e6 * loop / size, switches / size), strict=True))))


def run(root: str, size: int, incremental: bool) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", root, str(size)]
    done = subprocess.run(command + (["--incremental"] if incremental else []),
                          capture_output=True, text=True, env=child_env(), check=False)
    if done.returncode:
        sys.exit(done.stderr.strip())
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="*")
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--incremental", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("ROOT", "SIZE"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.incremental)
        return
    if len(args.roots) != 2:
        parser.error("give OLD_ROOT and NEW_ROOT")
    kind = "incremental" if args.incremental else "first run"
    print(f"| size | code | {' | '.join(FIELDS)} | fastest wall |  ({kind}, per task, medians of "
          f"{args.pairs} runs each: µs, switches)")
    for size in map(int, args.sizes.split(",")):
        results: dict[str, list[dict[str, float]]] = {root: [] for root in args.roots}
        for pair in range(args.pairs):
            for root in args.roots if pair % 2 == 0 else reversed(args.roots):
                results[root].append(run(root, size, args.incremental))
        for label, root in zip(("old", "new"), args.roots, strict=True):
            medians = [statistics.median(r[field] for r in results[root]) for field in FIELDS]
            fastest = min(r["wall"] for r in results[root])
            print(f"| {size:,} | {label} | " + " | ".join(f"{m:.1f}" for m in medians)
                  + f" | {fastest:.1f} |")


if __name__ == "__main__":
    main()
