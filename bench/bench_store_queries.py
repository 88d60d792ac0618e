"""How fast `bridge log` answers on a big store: the list of executions, one execution, one
job, and the provenance of a file (`bridge log PATH`), each timed as a user runs it (a fresh
`bridge` process: start-up, imports and the query; its wall and CPU time), and its query
part alone (the command's callback in this process, imports done).

Usage (from the repo root):

    .venv/bin/python bench/bench_store_queries.py [--jobs 1000000] [--per-execution 1000]
        [--pg-uri postgresql://user@host/empty_db] [--repeat 3] [--keep DIR]

The store is filled directly (bulk inserts in the real schema, no workflow runs), shaped
like real runs: each execution is a root `main(sample)` calling `align(sample, chunk)`
--per-execution - 2 times (every tenth returns a File, the others a number) and a
`merge(sample, bams)` taking those Files, which returns the merged File. Every command's
output is checked (the right execution, job count, producer and upstream calls), so a fast
wrong answer fails. The target is under 0.5 s for each command. With --pg-uri the database
must hold no bridge store (it is filled and left so).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect

from bridge.native import schema
from bridge.native.call_files import file_rows
from bridge.native.store import CallGraphStore
from bridge.native.values import PREVIEW_CHARS

BIN = Path(sys.executable).parent
TARGET_S = 0.5
FILE_EVERY = 10  # every tenth align call returns a File
TASKS = {name: hashlib.sha256(name.encode()).hexdigest()
         for name in ("pipeline.main", "pipeline.align", "pipeline.merge")}


def digest(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def uuid_of(*parts: object) -> str:
    h = digest("id", *parts)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


@dataclass
class Layout:
    """What was filled, and what the checked commands ask for."""

    executions: int
    per_execution: int
    probe: int  # the execution the one-execution and provenance commands look at

    @property
    def jobs(self) -> int:
        return self.executions * self.per_execution

    def execution_id(self, e: int) -> str:
        return uuid_of("exec", e)

    def job_id(self, e: int, i: int) -> str:
        return uuid_of("job", e, i)

    def merged(self, e: int) -> str:
        return f"/data/sample-{e}/merged.bam"

    def chunk_file(self, e: int, i: int) -> str:
        return f"/data/sample-{e}/chunk-{i}.bam"

    @property
    def file_chunks(self) -> list[int]:
        return [i for i in range(1, self.per_execution - 1) if i % FILE_EVERY == 0]


def _value(value_hash: str, type_name: str, preview: str, plain: object) -> dict:
    data = pickle.dumps(plain)
    return {"value_hash": value_hash, "type_name": type_name, "data": data, "location": None,
            "size": len(data), "preview": preview}


def _job(layout: Layout, e: int, i: int, parent: str | None, task: str, call_hash: str,
         started: float, arguments: list, result_hash: str, files: list | None) -> dict:
    return {"job_id": layout.job_id(e, i), "execution_id": layout.execution_id(e),
            "parent_id": parent, "call_hash": call_hash, "task_hash": TASKS[task],
            "task_name": task, "executor": "default", "status": "DONE", "started": started,
            "ended": started + 0.01, "error": None, "arguments": arguments, "tags": {},
            "result_hash": result_hash, "result_files": files}


def _call(call_hash: str, task: str, result_hash: str, files: list, subtree_files: list,
          job_id: str, created: float, counts: dict | None = None,
          returned: object = None) -> dict:
    return {"call_hash": call_hash, "subtree_hash": digest("subtree", call_hash),
            "task_hash": TASKS[task], "result_hash": result_hash,
            "subtree_tasks": [TASKS[task]] if counts is None else sorted(TASKS.values()),
            "result_files": files, "subtree_files": subtree_files, "subtree_counts": counts,
            "returned": returned, "job_id": job_id, "created": created}


def execution_rows(layout: Layout, e: int, t0: float) -> dict[str, list[dict]]:
    """The rows one execution leaves: its jobs, their calls, the values they name."""
    n = layout.per_execution
    rows: dict[str, list[dict]] = {"executions": [], "jobs": [], "calls": [],
                                   "stored_values": []}
    started = t0 + e * 60.0
    sample = f"sample-{e}"
    sample_hash = digest("value", sample)
    rows["stored_values"].append(_value(sample_hash, "str", repr(sample), sample))
    sample_arg = {"name": "sample", "hash": sample_hash, "sources": []}
    root_call = digest("call", "main", e)
    root_id = layout.job_id(e, 0)
    bams, bam_sources = [], []
    for i in range(1, n - 1):
        call_hash = digest("call", "align", e, i)
        chunk_hash = digest("value", i)
        if e == 0:  # the chunk numbers are shared by every execution
            rows["stored_values"].append(_value(chunk_hash, "int", str(i), i))
        if i % FILE_EVERY == 0:
            path = layout.chunk_file(e, i)
            result_hash = digest("file", path)
            files = [[path, result_hash]]
            rows["stored_values"].append(_value(result_hash, "bridge.native.file.File",
                                                f"File({path!r})", path))
            bam_sources.append([[len(bams)], call_hash, []])
            bams.append([path, result_hash])
        else:
            result_hash, files = digest("value", e, i, "count"), []
            rows["stored_values"].append(_value(result_hash, "int", str(i * 7), i * 7))
        at = started + i * 0.01
        arguments = [sample_arg, {"name": "chunk", "hash": chunk_hash, "sources": []}]
        rows["jobs"].append(_job(layout, e, i, root_id, "pipeline.align", call_hash, at,
                                 arguments, result_hash, files or None))
        rows["calls"].append(_call(call_hash, "pipeline.align", result_hash, files, files,
                                   layout.job_id(e, i), at + 0.01))
    bams_hash = digest("value", e, "bams")
    preview = repr([f"File({p!r})" for p, _ in bams])
    rows["stored_values"].append(_value(bams_hash, "list", preview[:PREVIEW_CHARS - 3] + "...",
                                        len(bams)))
    merged = layout.merged(e)
    merged_hash = digest("file", merged)
    rows["stored_values"].append(_value(merged_hash, "bridge.native.file.File",
                                        f"File({merged!r})", merged))
    merge_call, at = digest("call", "merge", e), started + n * 0.01
    merge_args = [sample_arg, {"name": "bams", "hash": bams_hash, "sources": bam_sources,
                               "files": bams}]
    merged_files = [[merged, merged_hash]]
    rows["jobs"].append(_job(layout, e, n - 1, root_id, "pipeline.merge", merge_call, at,
                             merge_args, merged_hash, merged_files))
    rows["calls"].append(_call(merge_call, "pipeline.merge", merged_hash, merged_files,
                               merged_files, layout.job_id(e, n - 1), at + 0.01))
    rows["jobs"].insert(0, _job(layout, e, 0, None, "pipeline.main", root_call, started,
                                [sample_arg], merged_hash, merged_files))
    counts = {"pipeline.main": 1, "pipeline.align": n - 2, "pipeline.merge": 1}
    rows["calls"].append(_call(root_call, "pipeline.main", merged_hash, merged_files,
                               [*bams, *merged_files], root_id, at + 0.02, counts,
                               {"call": merge_call, "task": "pipeline.merge"}))
    rows["executions"].append({
        "execution_id": layout.execution_id(e), "root_job_id": root_id,
        "description": f"pipeline.py main --sample {sample}", "status": "DONE",
        "started": started, "ended": at + 0.03, "tags": {}, "host": "bench", "pid": 1,
        "process_start": None})
    return rows


def fill(uri: str, layout: Layout, batch_executions: int = 20) -> float:
    """Fill an empty store; the seconds it took."""
    store = CallGraphStore(uri)
    with store.engine.connect() as conn:
        if inspect(conn).has_table(schema.meta.name):
            raise SystemExit(f"{store.safe_uri} already holds a bridge store: give an empty one")
    store.open(create=True)
    tables = {t.name: t for t in schema.metadata.sorted_tables}
    start = time.perf_counter()
    t0 = time.time() - layout.executions * 60.0
    with store.engine.begin() as conn:
        conn.execute(tables["tasks"].insert(), [
            {"task_hash": h, "fullname": name, "namespace": "pipeline",
             "source": f"@task()\ndef {name.split('.')[1]}(...): ..."}
            for name, h in TASKS.items()])
    for first in range(0, layout.executions, batch_executions):
        batch: dict[str, list[dict]] = {}
        for e in range(first, min(first + batch_executions, layout.executions)):
            for table, rows in execution_rows(layout, e, t0).items():
                batch.setdefault(table, []).extend(rows)
        with store.engine.begin() as conn:
            batch["call_files"] = file_rows(batch["calls"])
            for name in ("stored_values", "calls", "call_files", "executions", "jobs"):
                conn.execute(tables[name].insert(), batch[name])
    store.close()
    return time.perf_counter() - start


def commands(layout: Layout) -> dict[str, list[str]]:
    e = layout.probe
    return {
        "bridge log": ["log"],
        "bridge log EXEC": ["log", layout.execution_id(e)[:8]],
        "bridge log JOB": ["log", layout.job_id(e, FILE_EVERY)[:8]],
        "bridge log PATH (merged)": ["log", layout.merged(e)],
        "bridge log PATH (chunk)": ["log", layout.chunk_file(e, FILE_EVERY)],
    }


# What no query costs: start-up alone, and start-up with the store opened and one tiny query.
FLOORS = {"bridge --version": ["--version"], "bridge log -n 0": ["log", "-n", "0"]}


def check(name: str, output: str, layout: Layout) -> None:
    """Raise unless ``output`` is what the command must answer."""
    e, n = layout.probe, layout.per_execution
    lines = output.splitlines()
    if name == "bridge log":
        listed = [line for line in lines if line.startswith("Exec ")]
        newest = layout.execution_id(layout.executions - 1)[:8]
        ok = (len(listed) == min(20, layout.executions) and listed[0].startswith(
            f"Exec {newest}") and all(f"({n} jobs," in line for line in listed))
    elif name == "bridge log EXEC":
        ok = (lines[0].startswith(f"Exec {layout.execution_id(e)}")
              and f"Jobs: {n}" in lines and sum("Job " in line for line in lines) == n)
    elif name == "bridge log JOB":
        ok = (lines[0].startswith(f"Job {layout.job_id(e, FILE_EVERY)}")
              and f"Result: File('{layout.chunk_file(e, FILE_EVERY)}')" in output)
    elif name == "bridge log PATH (merged)":
        produced = [line for line in lines if line.startswith("Produced by Job ")]
        traced = [line for line in lines if re.match(r"\s*chunk(_\d+)? <-- origin$", line)]
        ok = (produced == [f"Produced by Job {layout.job_id(e, n - 1)[:8]}"]
              and f"result <-- <{digest('call', 'merge', e)[:8]}> merge(sample, bams)" in output
              and "bams <-- derives from" in output
              and f"[0] <-- <{digest('call', 'align', e, FILE_EVERY)[:8]}> align" in output
              and len(traced) == len(layout.file_chunks))
    else:
        ok = f"Produced by Job {layout.job_id(e, FILE_EVERY)[:8]}" in output
    if not ok:
        raise AssertionError(f"`{name}` answered wrongly:\n{output[:3000]}")


@dataclass
class Timing:
    wall: float  # seconds, start to exit
    cpu: float  # the process's user + system seconds: the wall time on an idle machine


def run_command(argv: list[str], folder: str, env: dict[str, str]) -> tuple[Timing, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([str(BIN / "bridge"), *argv], cwd=folder, env=env,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise AssertionError(f"bridge {' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Timing(wall, cpu), done.stdout


def query_seconds(uri: str, argv: list[str], repeat: int) -> float:
    """The command's query and view alone: its click callback in this process, where
    the imports are done and the engine is fresh each time (as in a new process)."""
    from click.testing import CliRunner

    from bridge.cli import cli

    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        CliRunner().invoke(cli, argv, env={"BRIDGE_DB_URI": uri}, catch_exceptions=False)
        runs.append(time.perf_counter() - start)
    return min(runs)


Row = tuple[str, Timing, float]


def bench(uri: str, layout: Layout, repeat: int, folder: str) -> list[Row]:
    """Per command: the best of ``repeat`` processes (wall and CPU), and the query."""
    # as a user's install runs: with its bytecode cached (written by the warm-up run)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BRIDGE_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["BRIDGE_DB_URI"] = uri
    results = []
    run_command(["log"], folder, env)  # warm-up, untimed
    for name, argv in [*commands(layout).items(), *FLOORS.items()]:
        runs = []
        for _ in range(repeat):
            timing, output = run_command(argv, folder, env)
            if name not in FLOORS:
                check(name, output, layout)
            runs.append(timing)
        best = Timing(min(t.wall for t in runs), min(t.cpu for t in runs))
        results.append((name, best, query_seconds(uri, argv, repeat)))
    return results


def report(backend: str, layout: Layout, fill_seconds: float | None,
           results: list[Row]) -> None:
    filled = f"filled in {fill_seconds:.0f} s" if fill_seconds is not None else "reused"
    print(f"\n{backend}: {layout.executions:,} executions x {layout.per_execution:,} jobs = "
          f"{layout.jobs:,} jobs, {filled}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'command':<28}{'wall (s)':>10}{'cpu (s)':>10}{'query (s)':>11}"
          f"  target {TARGET_S} s")
    for name, timing, query in results:
        verdict = "" if name in FLOORS else (
            "ok" if min(timing.wall, timing.cpu) < TARGET_S else "SLOW")
        print(f"{name:<28}{timing.wall:>10.3f}{timing.cpu:>10.3f}{query:>11.3f}  {verdict}")
    print("outputs checked: right execution, job counts, producer and upstream calls")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--per-execution", type=int, default=1000)
    parser.add_argument("--pg-uri", help="also on this PostgreSQL database (empty)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", metavar="DIR",
                        help="fill the SQLite store here and keep it (reused if there)")
    args = parser.parse_args()
    executions = max(1, args.jobs // args.per_execution)
    layout = Layout(executions, args.per_execution, probe=executions // 2)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or scratch
        Path(folder).mkdir(parents=True, exist_ok=True)
        targets = [("SQLite", f"sqlite:///{Path(folder).resolve() / 'bridge.db'}")]
        if args.pg_uri:
            targets.append(("PostgreSQL", args.pg_uri))
        for backend, uri in targets:
            reuse = backend == "SQLite" and args.keep and Path(folder, "bridge.db").exists()
            fill_seconds = None if reuse else fill(uri, layout)
            report(backend, layout, fill_seconds, bench(uri, layout, args.repeat, folder))
    print(json.dumps({"checked": True, "jobs": layout.jobs}))


if __name__ == "__main__":
    main()
