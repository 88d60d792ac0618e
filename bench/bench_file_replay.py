"""Replay of a fully cached fan-out whose leaves take File arguments, bridge beside redun 0.44.

Usage (from the repo root, after `bash bench/setup.sh`):

    .venv/bin/python bench/bench_file_replay.py [--sizes 1000,10000] [--files 100]
        [--redun-max 1000] [--repeat 3] [--redun-repeat 1] [--markdown]

The requirement: replaying a fully cached N-task fan-out whose leaves take File arguments costs
one query plus one stat per distinct file, whatever N; checking files must not make a replay
O(jobs) in database work.

The workflow is `file_fanout(n, folder, files)` (bench/workflows_*.py): leaf i gets
`File(folder/<i % files>.txt)` and returns i. Per engine and size, in a fresh temp folder,
`--files` small files are written, a first run fills an on-disk SQLite store, then `--repeat`
replays (`--redun-repeat` for redun: one takes about a minute at 1,000 tasks) each run in a
fresh process against it. A child opens the store first (untimed), then times
`scheduler.run(...)` and counts, during that call only:

- SQL statements sent through the store's SQLAlchemy engine (a `before_cursor_execute`
  listener; an `executemany` is one statement, and its parameter sets are counted as rows);
- `os.stat` / `os.lstat` calls on the input files (wrappers installed before any import).

Reported: the fastest replay's time and the highest counts over the replays. A replay in
which a leaf body ran (`FILE_LEAF_RUNS`) is an error. Exit status 1
when a bridge check fails: statements or rows at the largest size above those at the smallest,
more than FEW_STATEMENTS statements, more than one stat per distinct file, or an error.

This file is stdlib-only: the redun child runs it under .bench-venv's python.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import importlib
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from core import (
    PYTHONS,
    ROOT,
    fmt,
    log,
    parse_engine_arguments,
    run_script_child,
    table,
    verdict,
)

ENGINES = tuple(PYTHONS)
FEW_STATEMENTS = 10  # "one query", plus the execution's own bookkeeping


@dataclass
class Replay:
    """One engine's first run and fastest replay at one size (no `seconds` on error)."""

    first_seconds: float | None = None
    seconds: float | None = None
    statements: int = 0
    selects: int = 0
    rows: int = 0
    stats: int = 0
    files_stated: int = 0
    error: str | None = None


# --- child side: runs under either engine's python ---------------------------------------


def count_stats(folder: str) -> collections.Counter:
    """Count os.stat / os.lstat calls on paths under `folder`, per path."""
    counts: collections.Counter = collections.Counter()
    prefix = folder.rstrip(os.sep) + os.sep
    for name in ("stat", "lstat"):
        original = getattr(os, name)

        def counted(path, *args, _original=original, **kwargs):
            if isinstance(path, str | bytes | os.PathLike):
                text = os.fsdecode(path)
                if text.startswith(prefix):
                    counts[text] += 1
            return _original(path, *args, **kwargs)

        setattr(os, name, counted)
    return counts


def count_sql(engine) -> collections.Counter:
    from sqlalchemy import event

    counts: collections.Counter = collections.Counter()

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        counts["statements"] += 1
        counts["selects"] += statement.lstrip().upper().startswith("SELECT")
        counts["rows"] += len(parameters) if executemany else 1

    event.listen(engine, "before_cursor_execute", before)
    return counts


def child(engine: str, n: int, files: int, folder: str, db_path: str) -> dict:
    stats = count_stats(folder)  # before the imports, so no `from os import stat` escapes it
    wf = importlib.import_module(f"workflows_{engine}")
    scheduler = wf.make_scheduler(db_path)
    sql = count_sql(wf.sql_engine(scheduler))
    expr = wf.file_fanout(n, folder, files)
    stats.clear()
    sql.clear()
    start = time.perf_counter()
    value = scheduler.run(expr)
    seconds = time.perf_counter() - start
    if value != list(range(n)):
        raise AssertionError(f"wrong result: {str(value)[:80]}")
    return {
        "seconds": seconds,
        "leaf_runs": len(wf.FILE_LEAF_RUNS),
        "statements": sql["statements"],
        "selects": sql["selects"],
        "rows": sql["rows"],
        "stats": sum(stats.values()),
        "files_stated": len(stats),
    }


def child_main(engine: str, n: str, files: str, folder: str, db_path: str, out: str) -> None:
    try:
        result = child(engine, int(n), int(files), folder, db_path)
    except Exception as error:
        result = {"error": f"{type(error).__name__}: {error}"[:300]}
    Path(out).write_text(json.dumps(result))


# --- parent side --------------------------------------------------------------------------


def run_child(engine: str, n: int, files: int, workdir: Path, timeout: float) -> dict:
    args = [str(n), str(files), str(workdir / "inputs"), str(workdir / f"{engine}.db")]
    return run_script_child(str(Path(__file__).resolve()), engine, args, workdir, timeout)


def measure(engine: str, n: int, args: argparse.Namespace) -> Replay:
    """Write the files, run once, then replay `repeat` times, each in a fresh process."""
    with tempfile.TemporaryDirectory(prefix=f"bench-file-replay-{engine}-") as tmp:
        workdir = Path(tmp)
        inputs = workdir / "inputs"
        inputs.mkdir()
        for i in range(args.files):
            (inputs / f"{i}.txt").write_text(f"input {i}\n")
        log(f"  {engine} {n}: first run")
        first = run_child(engine, n, args.files, workdir, args.timeout)
        if "error" in first:
            return Replay(error=f"first run: {first['error']}")
        replays = []
        repeat = args.repeat if engine == "bridge" else args.redun_repeat
        for attempt in range(repeat):
            log(f"  {engine} {n}: replay {attempt + 1}/{repeat}")
            result = run_child(engine, n, args.files, workdir, args.timeout)
            if "error" not in result and result["leaf_runs"]:
                result["error"] = f"not a cached replay: {result['leaf_runs']} leaves ran"
            if "error" in result:
                return Replay(first_seconds=first["seconds"], error=f"replay: {result['error']}")
            replays.append(result)
    keys = ("statements", "selects", "rows", "stats", "files_stated")
    return Replay(
        first_seconds=first["seconds"],
        seconds=min(r["seconds"] for r in replays),
        **{key: max(r[key] for r in replays) for key in keys},  # the worst replay's counts
    )


def checks(results: dict[tuple[str, int], Replay], files: int) -> list[tuple[str, ...]]:
    """The bridge targets: statements flat in N and few, at most one stat per distinct file."""
    bridge = {n: r for (e, n), r in results.items() if e == "bridge"}
    sizes = sorted(bridge)
    rows = []
    if len(sizes) > 1 and all(r.seconds is not None for r in bridge.values()):
        small, large = bridge[sizes[0]], bridge[sizes[-1]]
        for what in ("statements", "rows"):
            low, high = getattr(small, what), getattr(large, what)
            rows.append(
                (
                    f"bridge SQL {what}, {sizes[-1]} vs {sizes[0]} tasks",
                    f"{high} vs {low}",
                    "no growth",
                    verdict(high <= low),
                )
            )
    for n in sizes:
        r = bridge[n]
        if r.seconds is None:
            rows.append((f"bridge replay, {n} tasks", "error", "no error", "FAIL"))
            continue
        rows.append(
            (
                f"bridge SQL statements, {n} tasks",
                str(r.statements),
                f"<= {FEW_STATEMENTS}",
                verdict(r.statements <= FEW_STATEMENTS),
            )
        )
        rows.append(
            (
                f"bridge stats on the {files} files, {n} tasks",
                str(r.stats),
                f"<= {files}",
                verdict(r.stats <= files),
            )
        )
    return rows


# --- report -------------------------------------------------------------------------------

HEADER = (
    "engine",
    "N",
    "first run s",
    "replay s",
    "replay µs/task",
    "SQL statements (SELECT)",
    "SQL rows",
    "file stats (files)",
    "redun/bridge replay",
)


def cells(engine: str, n: int, r: Replay, bridge: Replay | None) -> list[str]:
    if r.seconds is None:
        return [engine, str(n), fmt(r.first_seconds, "{:.4g}"), "ERROR", *["-"] * 5]
    ratio = r.seconds / bridge.seconds if engine == "redun" and bridge and bridge.seconds else None
    return [
        engine,
        str(n),
        f"{r.first_seconds:.4g}",
        f"{r.seconds:.4g}",
        f"{r.seconds / n * 1e6:,.1f}",
        f"{r.statements} ({r.selects})",
        str(r.rows),
        f"{r.stats} ({r.files_stated})",
        fmt(ratio, "{:,.0f}x"),
    ]


def report(results: dict[tuple[str, int], Replay], args: argparse.Namespace) -> tuple[str, bool]:
    md = args.markdown
    command = shlex.join(
        [os.path.relpath(sys.executable, ROOT), os.path.relpath(__file__, ROOT), *sys.argv[1:]]
    )
    body = [cells(e, n, r, results.get(("bridge", n))) for (e, n), r in results.items()]
    found = checks(results, args.files)
    passed = all(c[3] == "PASS" for c in found)
    met = "not measured" if not found else "met" if passed else "did NOT meet"
    parts = [
        f"{'`' if md else '$ '}{command}{'`' if md else ''} (from the repo root), "
        f"{datetime.date.today()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"redun {args.redun_version}, {args.files} distinct files, redun sizes capped at "
        f"{args.redun_max}, fastest of {args.repeat} bridge and {args.redun_repeat} redun "
        f"replays, load average {args.load:.1f} before the run",
        "",
        table(HEADER, body, md),
        "",
        table(("check", "measured", "target", "result"), [list(c) for c in found], md),
    ]
    errors = [f"{e} {n}: {r.error}" for (e, n), r in results.items() if r.error]
    parts += ["", *(f"{'- ' if md else '  '}{line}" for line in errors)] if errors else []
    parts += ["", f"bridge {met}: '<= a few queries and <= one stat per distinct file'."]
    return "\n".join(parts), passed


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child_main(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="1000,10000",
        type=lambda s: sorted({int(x) for x in s.split(",")}),
        help="comma-separated fan-out sizes (default 1000,10000; the check compares the "
        "smallest with the largest)",
    )
    parser.add_argument("--files", type=int, default=100, help="distinct files (default 100)")
    parser.add_argument(
        "--repeat", type=int, default=3, metavar="K", help="bridge replays per size (3)"
    )
    parser.add_argument(
        "--redun-repeat", type=int, default=1, metavar="K", help="redun replays per size (1)"
    )
    args = parse_engine_arguments(parser, timeout=600)
    args.load = os.getloadavg()[0]
    results = {
        (engine, n): measure(engine, n, args)
        for engine in args.engines
        for n in args.sizes
        if engine == "bridge" or n <= args.redun_max
    }
    text, passed = report(results, args)
    print(text)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
