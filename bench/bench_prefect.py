"""A fan-out run as a bridge workflow inside a Prefect flow, beside the same fan-out
written as plain Prefect tasks, against one real Prefect server on 127.0.0.1.

Usage (from the repo root, with the prefect extra installed, as `make setup` does):

    .venv/bin/python bench/bench_prefect.py [--tasks 200] [--seconds 0.1] [--repeat 3]
        [--markdown]

Each run is a fresh process that imports its workflow, then times the flow call alone
(`flow(n=..., seconds=..., return_state=True)`); each figure is the best of `--repeat`
rounds, a round being these runs in order (a fresh folder, so a fresh bridge store, each):

- bridge first: `flow_for(fan_out)` on an empty bridge store: 201 task runs;
- bridge re-run: the same call again: bridge replays it from its cache (one Cached task run);
- plain first / plain re-run: `plain_fan_out`, Prefect's default cache policy (a new flow
  run computes every task again);
- plain cached first / plain cached re-run: the same with `cache_policy=INPUTS+TASK_SOURCE`,
  so the re-run's 200 task runs are Prefect cache hits.

Targets (docs/benchmarks.md): bridge's first run no slower than plain Prefect's (ratio
>= 1.0 within 10 %), and bridge's re-run at least 10x faster than plain Prefect's re-run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))

RUNS = [  # (label, kind); runs of one kind share a folder (bridge: its store)
    ("bridge first", "bridge"),
    ("bridge re-run", "bridge"),
    ("plain first", "plain"),
    ("plain re-run", "plain"),
    ("plain cached first", "plain_cached"),
    ("plain cached re-run", "plain_cached"),
]


def child(kind: str, n: int, seconds: float, folder: str) -> None:
    sys.path.insert(0, str(BENCH))
    import workflows_prefect as workflows

    if kind == "bridge":
        from bridge.adapters.prefect import flow_for

        flow = flow_for(workflows.fan_out, config_dir=Path(folder) / ".bridge")
    else:
        flow = getattr(workflows, f"{kind}_fan_out")
    started = time.perf_counter()
    state = flow(n=n, seconds=seconds, return_state=True)
    elapsed = time.perf_counter() - started
    result = state.result()
    assert result == [i * i for i in range(n)], "wrong result"
    print(json.dumps({"seconds": elapsed}))


def measure(kind: str, n: int, seconds: float, folder: Path, env: dict[str, str]) -> float:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(n), str(seconds),
                           str(folder)], cwd=folder, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=0.1, help="work per leaf (sleep)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best counts")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "N", "SECONDS", "FOLDER"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, n, seconds, folder = args.child
        child(kind, int(n), float(seconds), folder)
        return
    from prefect_server import prefect_server

    with tempfile.TemporaryDirectory(prefix="bench-prefect-") as tmp:
        root = Path(tmp)
        print(f"starting a Prefect server in {root} ...", file=sys.stderr)
        with prefect_server(root / "home") as env:
            times: dict[str, float] = {}
            for round_ in range(args.repeat):
                for label, kind in RUNS:
                    if label == "plain cached first" and round_ > 0:
                        continue  # Prefect's cache now holds these inputs: not a first run
                    folder = root / f"{kind}-{round_}"
                    folder.mkdir(exist_ok=True)
                    seconds = measure(kind, args.tasks, args.seconds, folder, env)
                    times[label] = min(seconds, times.get(label, seconds))
                    print(f"{label}: {seconds:.2f} s", file=sys.stderr)
                    time.sleep(3)  # let the server drain its event backlog between runs
    report(times, args)


def report(times: dict[str, float], args: argparse.Namespace) -> None:
    first = times["plain first"] / times["bridge first"]
    rerun = times["plain re-run"] / times["bridge re-run"]
    cached = times["plain cached re-run"] / times["bridge re-run"]
    rows = [
        ("first run", times["bridge first"], times["plain first"], first,
         "bridge no slower (>= 0.9)", first >= 0.9),
        ("re-run", times["bridge re-run"], times["plain re-run"], rerun, ">= 10x", rerun >= 10),
        ("re-run, Prefect's input cache", times["bridge re-run"], times["plain cached re-run"],
         cached, "(shown)", True),
    ]
    title = (f"{args.tasks}-task fan-out, {args.seconds:g} s per leaf, 20 threads, "
             f"Prefect server on 127.0.0.1, best of {args.repeat}")
    if args.markdown:
        print(f"{title}\n\n| run | bridge in Prefect | plain Prefect | ratio | target | met |")
        print("|---|---:|---:|---:|---|---|")
        for name, ours, theirs, ratio, target, met in rows:
            print(f"| {name} | {ours:.2f} s | {theirs:.2f} s | {ratio:.1f}x | {target} | "
                  f"{'yes' if met else 'NO'} |")
    else:
        print(title)
        for name, ours, theirs, ratio, target, met in rows:
            print(f"{name:<32} bridge {ours:7.2f} s  plain {theirs:7.2f} s  ratio {ratio:5.1f}x"
                  f"  target {target}: {'met' if met else 'NOT MET'}")
    print(f"plain cached first run: {times['plain cached first']:.2f} s")


if __name__ == "__main__":
    main()
