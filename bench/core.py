"""Benchmark bridge against redun 0.44 on the same workflows, in one run.

Usage (from the repo root, after `bash bench/setup.sh`):

    .venv/bin/python bench/core.py [--quick] [--redun-max N] [--markdown]

Every measurement runs in a fresh child process (this file again, with `--child`), bridge under
.venv's python and redun under .bench-venv's, each in a fresh temp folder with an on-disk SQLite
database. A child times `scheduler.run(...)` only (not interpreter start, imports or opening the
store) and reports its peak RSS. A cached replay is a second child against the same database;
so is the incremental run, in which one leaf's input changed (the parent and that leaf run,
the other leaves are per-call cache hits).
Each scenario reports the fastest of --repeat such runs; `import` is the median of 5.

This file is stdlib-only: the redun child runs it under .bench-venv's python.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHONS = {
    "bridge": ROOT / ".venv" / "bin" / "python",
    "redun": ROOT / ".bench-venv" / "bin" / "python",
}
ENGINES = tuple(PYTHONS)

FANOUT_SIZES = (500, 1000, 10_000, 100_000)
QUICK_FANOUT_SIZES = (500, 1000)
CHAIN_DEPTH = 1000
# One leaf of this many changed: the parent runs again, the other leaves are cache hits.
INCREMENTAL_SIZE = 1000
INCREMENTAL_MAX = 0.25  # the incremental run's seconds over the same engine's first run
IMPORT_REPEATS = 5

# Speed targets from the issue. "Flat" cost per task: µs/task at each larger size within 25%
# of that at 1,000.
TARGET_RATIO = {
    ("fanout first run", 500): 100.0,
    ("fanout replay", 500): 200.0,
    ("fanout first run", 1000): 200.0,
    ("fanout incremental", INCREMENTAL_SIZE): 150.0,
}
FLAT_MAX = 1.25
FLAT_BASE, FLAT_SIZES = 1000, (10_000, 100_000)
US_PER_TASK_MAX = (10_000, 100.0)  # first run: at most 100 µs per task at 10,000 tasks
RSS_MAX = (100_000, 250.0)  # bridge's peak RSS in MB at 100,000 tasks
RSS_VS_REDUN = (10_000, 1000)  # bridge's peak RSS at 10,000 tasks <= redun's at 1,000
IMPORT_MAX_S = 0.3

NO_FIRST_RUN = "no first run to replay"


@dataclass
class Outcome:
    """One engine's measurement of one row: no `seconds` when it failed or was not run."""

    seconds: float | None = None
    rss_mb: float | None = None
    error: str | None = None


@dataclass
class Row:
    scenario: str
    n: int
    outcomes: dict[str, Outcome]
    per_task: bool = True
    target: str = "-"
    result: str = "-"

    def us_per_task(self, engine: str) -> float | None:
        seconds = self.outcomes[engine].seconds
        return None if seconds is None or not self.per_task else seconds / self.n * 1e6

    def ratio(self) -> float | None:
        bridge, redun = (self.outcomes[e].seconds for e in ENGINES)
        return redun / bridge if bridge and redun else None


# --- child side: runs under either engine's python ---------------------------------------


def child(engine: str, workflow: str, n: int, db_path: str) -> dict[str, float]:
    wf = importlib.import_module(f"workflows_{engine}")
    filled = Path(db_path).exists()  # by an earlier child: this run follows a first run
    scheduler = wf.make_scheduler(db_path)
    if workflow == "fanout":
        expr, expected = wf.fanout(n), list(range(1, n + 1))
    elif workflow == "fanout_bump":
        # Leaf 0 takes 0 in a first run, 1 in the run after it (one input changed).
        bump = int(filled)
        expr, expected = wf.fanout_bump(n, bump), [1 + bump, *range(2, n + 1)]
    else:
        expr, expected = wf.chain(n), 0
    start = time.perf_counter()
    value = scheduler.run(expr)
    seconds = time.perf_counter() - start
    if value != expected:
        raise AssertionError(f"wrong result: {str(value)[:80]}")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"seconds": seconds, "rss_mb": rss_mb}


def child_main(engine: str, workflow: str, n: str, db_path: str, result_path: str) -> None:
    try:
        result: dict[str, object] = child(engine, workflow, int(n), db_path)
    except Exception as error:
        result = {"error": f"{type(error).__name__}: {error}"[:300]}
    Path(result_path).write_text(json.dumps(result))


# --- parent side --------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def child_env() -> dict[str, str]:
    """This environment without PYTHONDONTWRITEBYTECODE (which this machine's shell sets), so
    children run with bytecode caches written, as an ordinary install has them: otherwise a
    module imported inside the timed region (an executor's) is compiled from source in every
    run, a few milliseconds that no user pays."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_script_child(script: str, engine: str, args: list[str], workdir: Path,
                     timeout: float) -> dict:
    """Run ``script --child engine *args RESULT`` under the engine's Python in ``workdir``;
    the JSON the child wrote to RESULT, or {"error": ...}."""
    result_path, log_path = workdir / "result.json", workdir / f"{engine}.log"
    result_path.unlink(missing_ok=True)
    argv = [str(PYTHONS[engine]), script, "--child", engine, *args, str(result_path)]
    with log_path.open("ab") as out:
        try:
            proc = subprocess.run(argv, cwd=workdir, stdout=out, stderr=out, timeout=timeout,
                                  env=child_env())
        except subprocess.TimeoutExpired:
            return {"error": f"timeout after {timeout:.0f} s"}
    if not result_path.exists():
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        return {"error": f"child exited {proc.returncode}: {tail[0][:200]}"}
    return json.loads(result_path.read_text())


def run_child(engine: str, workflow: str, n: int, workdir: Path, timeout: float) -> Outcome:
    args = [workflow, str(n), str(workdir / f"{engine}.db")]
    return Outcome(**run_script_child(str(Path(__file__).resolve()), engine, args, workdir,
                                      timeout))


def run_workflow(engine: str, workflow: str, n: int, replay: bool, timeout: float) -> list[Outcome]:
    """First run, then (when `replay`) a fully cached replay against the same database."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{engine}-") as tmp:
        log(f"  {engine} {workflow} {n}: first run")
        outcomes = [run_child(engine, workflow, n, Path(tmp), timeout)]
        if replay:
            if outcomes[0].error:
                outcomes.append(Outcome(error=NO_FIRST_RUN))
            else:
                log(f"  {engine} {workflow} {n}: replay")
                outcomes.append(run_child(engine, workflow, n, Path(tmp), timeout))
    return outcomes


def best_of(
    repeat: int, engine: str, workflow: str, n: int, replay: bool, timeout: float
) -> list[Outcome]:
    """The fastest of `repeat` runs (each in a fresh store) per scenario; stops at an error."""
    runs: list[list[Outcome]] = []
    while len(runs) < repeat and not any(o.error for run in runs for o in run):
        runs.append(run_workflow(engine, workflow, n, replay, timeout))
    return [
        next((o for o in column if o.error), None) or min(column, key=lambda o: o.seconds or 0)
        for column in zip(*runs, strict=True)
    ]


def import_time(engine: str) -> Outcome:
    """Median over fresh interpreters of the time `import <engine>` takes."""
    code = f"import time; t = time.perf_counter(); import {engine}; print(time.perf_counter() - t)"
    times = []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        for _ in range(IMPORT_REPEATS):
            proc = subprocess.run(
                [str(PYTHONS[engine]), "-c", code], cwd=tmp, capture_output=True, text=True,
                env=child_env(),
            )
            if proc.returncode:
                return Outcome(error=(proc.stderr.strip().splitlines() or ["?"])[-1][:200])
            times.append(float(proc.stdout))
    return Outcome(seconds=statistics.median(times))


def measure(args: argparse.Namespace) -> list[Row]:
    sizes = args.sizes or (QUICK_FANOUT_SIZES if args.quick else FANOUT_SIZES)
    plan = [("fanout", n, ("fanout first run", "fanout replay")) for n in sizes]
    plan.append(("chain", args.chain_depth, ("chain first run",)))
    plan.append(("fanout_bump", INCREMENTAL_SIZE, INCREMENTAL_SCENARIOS))
    rows = {}
    for workflow, n, scenarios in plan:
        for scenario in scenarios:
            rows[scenario, n] = Row(scenario, n, {})
        for engine in ENGINES:
            if engine not in args.engines or (engine == "redun" and n > args.redun_max):
                outcomes = [Outcome()] * len(scenarios)
            else:
                replay = len(scenarios) > 1
                outcomes = best_of(args.repeat, engine, workflow, n, replay, args.timeout)
            for scenario, outcome in zip(scenarios, outcomes, strict=True):
                rows[scenario, n].outcomes[engine] = outcome
    log("  import times")
    imports = {e: import_time(e) if e in args.engines else Outcome() for e in ENGINES}
    rows["import", 1] = Row(
        "import", 1, imports, per_task=False, target=f"bridge < {IMPORT_MAX_S} s"
    )
    for row in rows.values():
        judge(row)
    return list(rows.values())


def judge(row: Row) -> None:
    bridge, target_ratio = row.outcomes["bridge"], TARGET_RATIO.get((row.scenario, row.n))
    if target_ratio is not None:
        row.target = f"ratio >= {target_ratio:g}"
    if bridge.error:
        row.result = "FAIL"
    elif bridge.seconds is None:
        row.result = "n/a"
    elif target_ratio is not None:
        ratio = row.ratio()
        row.result = "n/a" if ratio is None else verdict(ratio >= target_ratio)
    elif row.scenario == "import":
        row.result = verdict(bridge.seconds < IMPORT_MAX_S)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def checks(rows: list[Row]) -> list[tuple[str, str, str, str]]:
    """The targets beyond one row's ratio: flat cost per task, cost per task at 10,000,
    peak memory at 100,000, and bridge's memory at 10,000 against redun's at 1,000."""
    first = {r.n: r for r in rows if r.scenario == "fanout first run"}
    fanouts = [r for r in rows if r.scenario.startswith("fanout")]

    def bridge(n: int) -> Outcome:
        return first[n].outcomes["bridge"] if n in first else Outcome()

    def us_per_task(n: int) -> float | None:
        return first[n].us_per_task("bridge") if n in first else None

    def peak_mb(engine: str, n: int) -> float | None:
        return max((r.outcomes[engine].rss_mb or 0 for r in fanouts if r.n == n),
                   default=0) or None

    def check(name: str, measured: float | None, spec: str, target: str, ok: bool,
              tried: bool) -> tuple[str, str, str, str]:
        result = verdict(ok) if measured is not None else "FAIL" if tried else "n/a"
        return name, fmt(measured, spec), target, result

    found = []
    for large in FLAT_SIZES:
        low, high = us_per_task(FLAT_BASE), us_per_task(large)
        flat = high / low if low and high else None
        found.append(check(f"bridge cost per task, {large} / {FLAT_BASE} tasks", flat,
                           "{:.2f}x", f"<= {FLAT_MAX}x", flat is not None and flat <= FLAT_MAX,
                           bool(bridge(large).error)))
    n, most = US_PER_TASK_MAX
    cost = us_per_task(n)
    found.append(check(f"bridge first run at {n} tasks", cost, "{:.1f} µs/task",
                       f"<= {most:g} µs/task", cost is not None and cost <= most,
                       bool(bridge(n).error)))
    n, most = RSS_MAX
    rss = peak_mb("bridge", n)
    found.append(check(f"bridge peak RSS at {n} tasks", rss, "{:.0f} MB", f"<= {most:g} MB",
                       rss is not None and rss <= most, bool(bridge(n).error)))
    n, redun_n = RSS_VS_REDUN
    rss, redun = peak_mb("bridge", n), peak_mb("redun", redun_n)
    found.append(check(f"bridge peak RSS at {n} tasks vs redun's at {redun_n}",
                       rss if redun is not None else None, "{:.0f} MB",
                       f"<= {fmt(redun, '{:.0f} MB')}", rss is not None and rss <= (redun or 0),
                       bool(bridge(n).error)))
    return found


INCREMENTAL_SCENARIOS = ("incremental's first run", "fanout incremental")


def incremental_checks(rows: list[Row]) -> list[tuple[str, str, str, str]]:
    """Each engine's incremental run over its own first run of the same workflow."""
    first, again = ({r.scenario: r for r in rows}.get(s) for s in INCREMENTAL_SCENARIOS)
    out = []
    for engine in ENGINES:
        before = first.outcomes[engine].seconds if first else None
        after = again.outcomes[engine].seconds if again else None
        share = after / before if after and before else None
        target = f"<= {INCREMENTAL_MAX:g}x" if engine == "bridge" else "-"
        result = "-" if engine != "bridge" else (
            "n/a" if share is None else verdict(share <= INCREMENTAL_MAX))
        out.append((f"{engine} incremental / first run, {INCREMENTAL_SIZE} tasks",
                    fmt(share, "{:.2f}x"), target, result))
    return out


# --- report -------------------------------------------------------------------------------

HEADER = (
    "scenario",
    "N",
    "bridge s",
    "bridge µs/task",
    "bridge MB",
    "redun s",
    "redun µs/task",
    "redun MB",
    "redun/bridge",
    "target",
    "result",
)


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else spec.format(value)


def cells(row: Row) -> list[str]:
    out = [row.scenario, str(row.n) if row.per_task else "-"]
    for engine in ENGINES:
        outcome = row.outcomes[engine]
        if outcome.seconds is None:
            out += ["ERROR" if outcome.error else "skipped", "-", "-"]
            continue
        out += [
            f"{outcome.seconds:.4g}",
            fmt(row.us_per_task(engine), "{:,.1f}"),
            fmt(outcome.rss_mb, "{:.0f}"),
        ]
    return [*out, fmt(row.ratio(), "{:,.0f}x"), row.target, row.result]


def notes(rows: list[Row]) -> list[str]:
    """The errors, less the replays that could not run for want of a first run."""
    return [
        f"{engine} {row.scenario} {row.n}: {outcome.error}"
        for row in rows
        for engine, outcome in row.outcomes.items()
        if outcome.error and outcome.error != NO_FIRST_RUN
    ]


def table(header: tuple[str, ...], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        body = [[f"**{c}**" if c == "FAIL" else c for c in line] for line in body]
        lines = [header, ["---"] * len(header), *body]
        return "\n".join("| " + " | ".join(line) + " |" for line in lines)
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in [header, *body]
    )


def report(rows: list[Row], args: argparse.Namespace) -> str:
    command = shlex.join(
        [os.path.relpath(sys.executable, ROOT), os.path.relpath(__file__, ROOT), *sys.argv[1:]]
    )
    bridge_checks = checks(rows) + incremental_checks(rows)
    verdicts = {r.result for r in rows} | {c[3] for c in bridge_checks}
    md = args.markdown
    parts = [
        f"{'`' if md else '$ '}{command}{'`' if md else ''} (from the repo root), "
        f"{datetime.date.today()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"redun {args.redun_version}, redun sizes capped at {args.redun_max}, "
        f"best of {args.repeat} runs",
        "",
        table(HEADER, [cells(r) for r in rows], md),
        "",
        table(("check", "measured", "target", "result"), [list(c) for c in bridge_checks], md),
    ]
    if found := notes(rows):
        parts += ["", *(f"{'- ' if md else '  '}{n}" for n in found)]
    if "FAIL" in verdicts:
        parts += ["", "Some targets FAIL."]
    else:
        parts += ["", "All targets PASS." if "n/a" not in verdicts else "Some targets unmeasured."]
    return "\n".join(parts)


def redun_version() -> str:
    code = "import importlib.metadata as m; print(m.version('redun'))"
    try:
        proc = subprocess.run([str(PYTHONS["redun"]), "-c", code], capture_output=True, text=True)
    except OSError:
        return "not installed (run bench/setup.sh)"
    return proc.stdout.strip() or "not installed (run bench/setup.sh)"


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child_main(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"fan-out sizes {QUICK_FANOUT_SIZES} only (no 10,000 or 100,000-task checks)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        metavar="K",
        help="report the fastest of K runs per scenario and engine (default 3)",
    )
    parser.add_argument(
        "--sizes",
        type=lambda s: tuple(int(n) for n in s.split(",")),
        metavar="N,N",
        help=f"fan-out sizes (default {','.join(map(str, FANOUT_SIZES))})",
    )
    parser.add_argument("--chain-depth", type=int, default=CHAIN_DEPTH, metavar="N")
    args = parse_engine_arguments(parser, timeout=900)
    print(report(measure(args), args))


def parse_engine_arguments(parser: argparse.ArgumentParser, timeout: float
                           ) -> argparse.Namespace:
    """Add the options every side-by-side benchmark takes (--redun-max, --engines,
    --timeout, --markdown), parse, and note redun's version; without .bench-venv, bridge
    alone is benchmarked."""
    parser.add_argument(
        "--redun-max",
        type=int,
        default=1000,
        metavar="N",
        help="run redun only for N tasks or fewer (default 1000; it is slow)",
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        type=lambda s: tuple(e for e in s.split(",") if e in ENGINES),
        help="comma-separated subset of bridge,redun",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=timeout,
        metavar="S",
        help=f"seconds before a child run is given up (default {timeout:g})",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args()
    args.redun_version = redun_version()
    if "redun" in args.engines and not PYTHONS["redun"].exists():
        log("no .bench-venv: run `bash bench/setup.sh`; benchmarking bridge only")
        args.engines = tuple(e for e in args.engines if e != "redun")
    return args


if __name__ == "__main__":
    main()
