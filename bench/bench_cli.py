"""How fast bridge's commands answer as whole processes: `bridge --version`, `bridge --help`,
`bridge run FILE` (the task list), `bridge run FILE main --help`, and a fully cached
`bridge run FILE main` of a 1,000-task fan-out beside redun 0.44.1's `redun run` of the same
workflow against its own cached store.

Every command runs as a fresh process in the same folder; each is timed --repeat times
(redun's --redun-repeat times: it takes seconds) and the best kept, wall time and CPU time
(user + sys of the child, from `resource.getrusage(RUSAGE_CHILDREN)`) side by side, since a
shared machine stretches wall time. A first run of each workflow fills its store before timing;
the bridge replay is checked to be all CACHED.

Usage (from the repo root):

    bash bench/setup.sh                       # redun 0.44.1 into .bench-venv (once)
    .venv/bin/python bench/bench_cli.py [--repeat 10] [--redun-repeat 2] [--markdown]

Targets (issue 14): the cached `bridge run` ≤ 0.3 s whole process and ≥ 25x faster than
`redun run`; `--version`, `--help` and `run FILE main --help` ≤ 0.3 s. Exit status 1 when a
target fails on CPU time (wall time on a loaded machine is reported, not judged).

Children run with PYTHONDONTWRITEBYTECODE removed from their environment, so the untimed
first runs leave the bytecode caches an ordinary install has.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from core import child_env

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REDUN = ROOT / ".bench-venv" / "bin" / "redun"
TASKS = 1000
BUDGET_S = 0.3
MIN_RATIO = 25.0

WORKFLOW = '''
from {package} import task
{namespace}

@task()
def add_one(x: int) -> int:
    return x + 1


@task()
def main(n: int = {tasks}) -> list:
    """A fan-out of n trivial tasks."""
    return [add_one(i) for i in range(n)]
'''


@dataclass
class Timing:
    wall: float
    cpu: float


def run_once(command: list[str], cwd: Path) -> tuple[Timing, str]:
    """Run one fresh process; its wall and CPU (user + sys) time, and its stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, env=child_env(), check=True, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall, cpu), done.stderr


def best_of(command: list[str], cwd: Path, repeat: int) -> Timing:
    runs = [run_once(command, cwd)[0] for _ in range(repeat)]
    return Timing(min(r.wall for r in runs), min(r.cpu for r in runs))


def all_cached(stderr: str) -> bool:
    """Whether the status table of a bridge run counts every job as CACHED."""
    for line in stderr.splitlines():
        fields = line.split()
        if len(fields) == 9 and fields[2] == "ALL":  # [bridge] | ALL pending ... total
            return fields[6] == fields[8]
    return False


def make_workflow(folder: Path, package: str, namespace: str = "") -> Path:
    folder.mkdir()
    text = WORKFLOW.format(package=package, namespace=namespace, tasks=TASKS)
    (folder / "wf.py").write_text(text)
    return folder


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--redun-repeat", type=int, default=2, help="0: bridge only")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args()
    bridge = str(BIN / "bridge")
    with tempfile.TemporaryDirectory() as tmp:
        here = make_workflow(Path(tmp, "bridge"), "bridge")
        for _ in range(2):  # fill the store, then one untimed replay (bytecode caches)
            run_once([bridge, "run", "wf.py", "main"], here)
        _, stderr = run_once([bridge, "run", "wf.py", "main"], here)
        if not all_cached(stderr):
            sys.exit(f"the bridge replay was not all CACHED:\n{stderr}")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            # the floor of any command that opens a store: SQLAlchemy's own import
            "python -c 'import sqlalchemy'": [sys.executable, "-c", "import sqlalchemy"],
            "bridge --version": [bridge, "--version"],
            "bridge --help": [bridge, "--help"],
            "bridge run wf.py": [bridge, "run", "wf.py"],
            "bridge run wf.py main --help": [bridge, "run", "wf.py", "main", "--help"],
            "bridge run wf.py main (cached)": [bridge, "run", "wf.py", "main"],
        }
        times = {name: best_of(command, here, args.repeat) for name, command in commands.items()}
        if args.redun_repeat > 0 and REDUN.exists():
            there = make_workflow(Path(tmp, "redun"), "redun", 'redun_namespace = "bench"')
            run_once([str(REDUN), "run", "wf.py", "main"], there)
            times["redun run wf.py main (cached)"] = best_of(
                [str(REDUN), "run", "wf.py", "main"], there, args.redun_repeat
            )
        elif args.redun_repeat > 0:
            print("no .bench-venv: run `bash bench/setup.sh`; benchmarking bridge only")
    report(times, args.markdown)


def report(times: dict[str, Timing], markdown: bool) -> None:
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} cores")
    row = "| {} | {} | {} |" if markdown else "{:<32} {:>8} {:>8}"
    print(row.format("command", "wall s", "CPU s"))
    if markdown:
        print("| --- | ---: | ---: |")
    for name, t in times.items():
        print(row.format(name, f"{t.wall:.3f}", f"{t.cpu:.3f}"))
    cached = times["bridge run wf.py main (cached)"]
    light = ["bridge --version", "bridge --help", "bridge run wf.py main --help"]
    checks = [
        (f"cached bridge run ≤ {BUDGET_S} s", cached.wall, cached.cpu, BUDGET_S, "<="),
        *[(f"{name} ≤ {BUDGET_S} s", times[name].wall, times[name].cpu, BUDGET_S, "<=")
          for name in light],
    ]
    redun = times.get("redun run wf.py main (cached)")
    if redun:
        checks.append((f"redun / bridge ≥ {MIN_RATIO:g}x", redun.wall / cached.wall,
                       redun.cpu / cached.cpu, MIN_RATIO, ">="))
    print()
    failed = False
    for name, wall, cpu, target, sense in checks:
        ok_wall = wall <= target if sense == "<=" else wall >= target
        ok_cpu = cpu <= target if sense == "<=" else cpu >= target
        failed |= not ok_cpu
        print(f"{name:<40} wall {wall:>7.3f} {verdict(ok_wall)}   "
              f"CPU {cpu:>7.3f} {verdict(ok_cpu)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
