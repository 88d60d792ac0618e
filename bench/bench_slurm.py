"""A fan-out of trivial shell steps on SLURM: bridge's slurm executor against Snakemake's
SLURM executor plugin, on the same fresh private cluster in one run.

Usage (from the repo root, as root, after `make setup` and `bash bench/setup_snakemake.sh`):

    .venv/bin/python bench/bench_slurm.py [--jobs 1000] [--engines bridge snakemake]
                                          [--poll 1] [--no-snakemake-arrays]

The parent starts one single-node cluster (tests/slurm_cluster.py: munged, slurmctld,
slurmd; accounting off) and runs each engine's command line in a fresh folder, one after
the other: `bridge run slurm_fanout.py main --n N` (N script() calls on a `type = slurm`
executor, gathered by a parent task) and `snakemake --executor slurm` on slurm_fanout.smk
(N jobs of a shell rule, gathered by rule all). Every step writes one tiny file, which the
parent checks afterwards. What is timed is the whole command (the engine's start included),
so the time per job is the engine's overhead per job: submitting, the job's own start on the
node, polling, and collecting the result. Both poll every --poll seconds and ask SLURM for
the same resources per job (1 CPU, 100 MB).

Snakemake's plugin is run as its documentation suggests for a cluster without accounting:
status by `squeue` (its `sacct` default needs slurmdbd) with `MinJobAge` long enough, no
account, and, unless --no-snakemake-arrays, the fan-out submitted as job arrays (of at most
ARRAY_LIMIT tasks, see there), as bridge submits a burst. Its jobs start `srun` and drop
the job's SLURM_* variables first (the jobstep plugin keeps only a few), SLURM_CONF among
them, so a cluster whose slurm.conf is not at the default path needs an `srun` on the PATH
that sets it again: the parent puts one in the run's folder (it adds an exec, nothing else).

This file is stdlib-only (the parent runs under .venv's python; the engines are commands).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "tests"))

from slurm_cluster import SlurmCluster, slurm_cluster  # noqa: E402  (tests/ is not a package)

COMMANDS = {
    "bridge": ROOT / ".venv" / "bin" / "bridge",
    "snakemake": ROOT / ".bench-venv-snakemake" / "bin" / "snakemake",
}
SETUP = {"bridge": "make setup", "snakemake": "bash bench/setup_snakemake.sh"}
MEMORY_MB = 100  # per job; the cluster's DefMemPerCPU, which bridge's jobs get by default
# Tasks per Snakemake array job. Each task's command line travels in one sbatch argument;
# past about 60 tasks it outgrows Linux's 128 KiB limit for one argument, and the plugin's
# fallback (2.8.0: the script through stdin) splits the command over lines, so that every
# task runs the array's first job.
ARRAY_LIMIT = 50


@dataclass
class Outcome:
    engine: str
    seconds: float = 0.0
    cpu: float = 0.0  # the engine's own processes (and the SLURM commands they start)
    submissions: int = 0  # sbatch calls slurmctld received
    error: str | None = None


def bridge_run(cluster: SlurmCluster, folder: Path, n: int, poll: float,
               arrays: bool) -> list[str]:
    shutil.copy(BENCH / "slurm_fanout.py", folder / "workflow.py")
    (folder / ".bridge").mkdir()
    (folder / ".bridge" / "bridge.ini").write_text(
        f"[executors.cluster]\ntype = slurm\npartition = {cluster.partition}\n"
        f"poll_interval = {poll}\nscratch = {folder / 'scratch'}\njob_name_prefix = bench\n")
    return [str(COMMANDS["bridge"]), "run", "workflow.py", "main", "--n", str(n)]


def snakemake_run(cluster: SlurmCluster, folder: Path, n: int, poll: float,
                  arrays: bool) -> list[str]:
    shutil.copy(BENCH / "slurm_fanout.smk", folder / "Snakefile")
    srun = folder / "bin" / "srun"
    srun.parent.mkdir()
    srun.write_text(f"#!/bin/sh\nSLURM_CONF={cluster.conf} exec {shutil.which('srun')} "
                    '"$@"\n')
    srun.chmod(0o755)
    argv = [str(COMMANDS["snakemake"]), "--executor", "slurm", "--jobs", str(n),
            "--slurm-no-account", "--slurm-status-command", "squeue",
            "--slurm-init-seconds-before-status-checks", str(max(1, round(poll))),
            "--default-resources", f"slurm_partition={cluster.partition}",
            f"mem_mb={MEMORY_MB}"]
    if arrays:
        argv += ["--slurm-array-jobs=all", f"--slurm-array-limit={ARRAY_LIMIT}"]
    return [*argv, "--config", f"count={n}"]  # last: --config takes every word after it


RUNS = {"bridge": bridge_run, "snakemake": snakemake_run}


def submissions(cluster: SlurmCluster) -> int:
    """sbatch calls slurmctld has received so far (one per job or job array)."""
    log = cluster.folder / "slurmctld.log"
    return log.read_text(errors="replace").count("_slurm_rpc_submit_batch_job") \
        if log.exists() else 0


def missing_outputs(folder: Path, n: int) -> list[int]:
    wrong = []
    for i in range(n):
        path = folder / "out" / f"{i}.txt"
        if not path.exists() or path.read_text() != f"{i}\n":
            wrong.append(i)
    return wrong


def measure(engine: str, cluster: SlurmCluster, n: int, poll: float,
            arrays: bool) -> Outcome:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-slurm-{engine}-"))
    argv = RUNS[engine](cluster, folder, n, poll, arrays)
    env = {key: value for key, value in os.environ.items() if not key.startswith("BRIDGE_")}
    env |= cluster.env
    env["PATH"] = f"{folder / 'bin'}:{env['PATH']}"
    before = submissions(cluster)
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(folder / "run.log", "wb") as log:
        done = subprocess.run(argv, cwd=folder, env=env, stdout=log, stderr=log)
    outcome = Outcome(engine, seconds=time.perf_counter() - started)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    outcome.cpu = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    outcome.submissions = submissions(cluster) - before
    wrong = missing_outputs(folder, n)
    if done.returncode != 0 or wrong:
        tail = (folder / "run.log").read_text(errors="replace").splitlines()[-15:]
        outcome.error = (f"exit {done.returncode}, {len(wrong)} of {n} outputs missing or "
                         f"wrong; {folder / 'run.log'} ends:\n" + "\n".join(tail))
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return outcome


def report(outcomes: list[Outcome], n: int) -> None:
    print("| engine | jobs | sbatch calls | wall s | ms per job | engine CPU s |")
    print("|---|---:|---:|---:|---:|---:|")
    for outcome in outcomes:
        if outcome.error:
            print(f"| {outcome.engine} | {n} | failed | | | |")
            continue
        print(f"| {outcome.engine} | {n} | {outcome.submissions} | {outcome.seconds:.1f} | "
              f"{outcome.seconds / n * 1000:.0f} | {outcome.cpu:.1f} |")
    timed = {o.engine: o.seconds for o in outcomes if not o.error}
    if len(timed) == 2:
        print(f"\nper job, snakemake / bridge: {timed['snakemake'] / timed['bridge']:.1f}x")
    for outcome in outcomes:
        if outcome.error:
            print(f"\n{outcome.engine} failed: {outcome.error}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000, help="steps in the fan-out")
    parser.add_argument("--engines", nargs="+", choices=tuple(COMMANDS),
                        default=list(COMMANDS))
    parser.add_argument("--poll", type=float, default=1.0,
                        help="seconds between status polls (Snakemake's: whole seconds)")
    parser.add_argument("--snakemake-arrays", action=argparse.BooleanOptionalAction,
                        default=True, help="submit Snakemake's fan-out as job arrays")
    args = parser.parse_args()
    for engine in args.engines:
        if not COMMANDS[engine].exists():
            sys.exit(f"{COMMANDS[engine]} is missing: run `{SETUP[engine]}` first")
    load_before = os.getloadavg()
    with slurm_cluster() as cluster:
        outcomes = [measure(engine, cluster, args.jobs, args.poll, args.snakemake_arrays)
                    for engine in args.engines]
    load_after = os.getloadavg()
    arrays = "" if "snakemake" not in args.engines else (
        f", snakemake arrays: {'yes' if args.snakemake_arrays else 'no'}")
    print(f"{args.jobs} jobs, poll {args.poll} s{arrays}; load average {load_before[0]:.1f} "
          f"before, {load_after[0]:.1f} after, {os.cpu_count()} CPUs\n")
    report(outcomes, args.jobs)
    if any(outcome.error for outcome in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
