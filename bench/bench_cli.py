"""How fast `bridge --version`, `bridge --help` and `bridge run FILE` (the task list)
answer: wall time of a fresh process each, best and median of --repeat runs, against a
bare `python -c pass` on the same interpreter (the floor no command can beat).

Usage (from the repo root):

    .venv/bin/python bench/bench_cli.py [--repeat 10]

The target is under 0.3 s for --version and --help: heavy imports (SQLAlchemy, pydantic,
rich, boto3) load inside the commands that need them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
WORKFLOW = '''
from bridge import task

@task()
def hello(name: str = "world") -> str:
    """Say hello."""
    return f"hello {name}"
'''


def timed(command: list[str], cwd: str, repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        runs.append(time.perf_counter() - start)
    return min(runs), statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "wf.py").write_text(WORKFLOW)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "bridge --version": [str(BIN / "bridge"), "--version"],
            "bridge --help": [str(BIN / "bridge"), "--help"],
            "bridge run wf.py": [str(BIN / "bridge"), "run", "wf.py"],
        }
        print(f"{'command':<20} {'best s':>8} {'median s':>9}")
        for name, command in commands.items():
            best, median = timed(command, folder, args.repeat)
            print(f"{name:<20} {best:>8.3f} {median:>9.3f}")


if __name__ == "__main__":
    main()
