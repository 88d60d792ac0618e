"""The read-alignment example beside Snakemake 9.27, in one run: the same pipeline (same
tools, command lines and data), run by each engine through the scenarios of issue 16.

Usage (from the repo root, after `make setup` and `bash bench/setup_snakemake.sh`):

    .venv/bin/python bench/bench_read_alignment.py [--markdown] [--engines bridge snakemake]
                                                   [--keep]

The example's synthetic dataset (its `prepare_samples`: a 250 kb reference, two samples on
two lanes each) is made once, then copied into a fresh folder per engine: bridge runs
examples/read_alignment/workflow.py (`bridge run --cores 2 workflow.py main --samples-file
data/samples.tsv --aligner bwa`), Snakemake bench/read_alignment/Snakefile (`snakemake
--cores 2`). Each engine goes through the scenarios in turn, in its own folder, the two
engines taking turns scenario by scenario:

1. first run;
2. no-op re-run;
3. one input FASTQ lane edited (one base of its first read changed);
4. one small input touched (a lane of the other sample: newer, same bytes);
5. one intermediate deleted (a merged FASTQ, which `cat` makes again byte for byte);
6. a version-pinned command edit: cutadapt's minimum length 30 -> 60 (bridge: the default of
   `cut_adapters(min_length=...)` in workflow.py, its `version="1"` kept; Snakemake: the
   rule's `params.min_length`).

Each run is the engine's whole command, timed (start-up included). The steps each engine
ran are read from bridge's store (the execution's tool jobs, `script()` and `copy_file`,
that ran rather than replayed) and from the job blocks Snakemake prints (rule, wildcards,
reason). After each scenario the final BAMs of the two engines are compared record by record.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from core import table  # noqa: E402  (bench/ is not a package)

EXAMPLE = ROOT / "examples" / "read_alignment"
SNAKEFILE = BENCH / "read_alignment" / "Snakefile"
COMMANDS = {
    "bridge": ROOT / ".venv" / "bin" / "bridge",
    "snakemake": ROOT / ".bench-venv-snakemake" / "bin" / "snakemake",
}
SETUP = {"bridge": "make setup", "snakemake": "bash bench/setup_snakemake.sh"}
CORES = "2"
SAMPLES = ("sample1", "sample2")
EDITED_LANE = "data/samples/sample1/sample1_L001_R1.fastq.gz"
TOUCHED_LANE = "data/samples/sample2/sample2_L002_R2.fastq.gz"
INTERMEDIATE = "results/sample1/sample1.1.fastq.gz"  # merge_fastq's, made by `cat`
# The pinned edit, as (file, old, new) per engine: cutadapt's --minimum-length 30 -> 60.
COMMAND_EDIT = {
    "bridge": ("workflow.py", "min_length: int = 30", "min_length: int = 60"),
    "snakemake": ("Snakefile", "min_length=30,", "min_length=60,"),
}
STEPS = ("download_genome_ref", "find_tools", "index_genome_ref", "merge_fastq", "cut_adapters",
         "run_bwa", "mark_dups", "collect_align_metrics", "collect_depth_metrics")
TOOL_TASKS = ("bridge.script", "bridge.copy_file")  # the jobs that run a tool
NAMESPACE = "read_alignment."
BRIDGE_WARNING = "[bridge] warning:"


# --- the engines' folders and commands ----------------------------------------------------


def make_dataset(folder: Path) -> Path:
    """The example's synthetic dataset, written by its own prepare_samples task."""
    folder.mkdir()
    copy_example(folder)
    run([str(COMMANDS["bridge"]), "run", "workflow.py", "prepare_samples", "--output-path",
         "data"], folder, folder / "prepare.log")
    return folder / "data"


def copy_example(folder: Path) -> None:
    for name in ("workflow.py", "simulate.py"):
        shutil.copy(EXAMPLE / name, folder)


def bridge_folder(folder: Path) -> list[str]:
    copy_example(folder)
    (folder / ".bridge").mkdir()
    shutil.copy(EXAMPLE / ".bridge" / "bridge.ini", folder / ".bridge")
    return [str(COMMANDS["bridge"]), "run", "--cores", CORES, "workflow.py", "main",
            "--samples-file", "data/samples.tsv", "--aligner", "bwa"]


def snakemake_folder(folder: Path) -> list[str]:
    shutil.copy(SNAKEFILE, folder / "Snakefile")
    return [str(COMMANDS["snakemake"]), "--cores", CORES]


FOLDERS: dict[str, Callable[[Path], list[str]]] = {
    "bridge": bridge_folder, "snakemake": snakemake_folder}


def run(argv: list[str], cwd: Path, log: Path) -> float:
    """Run ``argv`` in ``cwd`` (its output to ``log``); its wall time. Exits on failure."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BRIDGE_")}
    started = time.perf_counter()
    with log.open("wb") as out:
        done = subprocess.run(argv, cwd=cwd, env=env, stdout=out, stderr=out)
    seconds = time.perf_counter() - started
    if done.returncode:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        sys.exit(f"{argv[0]} exited {done.returncode} in {cwd}; {log} ends:\n{tail}")
    return seconds


# --- the scenarios ------------------------------------------------------------------------


def edit_lane(folder: Path, engine: str) -> None:
    """Change one base of the lane's first read (A<->C, else ->A), gzip without a timestamp:
    the same new bytes in every engine's copy."""
    path = folder / EDITED_LANE
    lines = gzip.decompress(path.read_bytes()).split(b"\n")
    seq = bytearray(lines[1])
    seq[10] = {ord("A"): ord("C"), ord("C"): ord("A")}.get(seq[10], ord("A"))
    lines[1] = bytes(seq)
    path.write_bytes(gzip.compress(b"\n".join(lines), mtime=0))


def touch_lane(folder: Path, engine: str) -> None:
    os.utime(folder / TOUCHED_LANE)


def delete_intermediate(folder: Path, engine: str) -> None:
    (folder / INTERMEDIATE).unlink()


def edit_command(folder: Path, engine: str) -> None:
    name, old, new = COMMAND_EDIT[engine]
    path = folder / name
    text = path.read_text()
    if text.count(old) != 1:
        sys.exit(f"{path}: expected `{old}` once, to edit it to `{new}`")
    path.write_text(text.replace(old, new))


def nothing(folder: Path, engine: str) -> None:
    pass


SCENARIOS: tuple[tuple[str, Callable[[Path, str], None]], ...] = (
    ("first run", nothing),
    ("no-op re-run", nothing),
    ("one input lane edited", edit_lane),
    ("one small input touched", touch_lane),
    ("one intermediate deleted", delete_intermediate),
    ("pinned command edited (-m 30 -> 60)", edit_command),
)


# --- which steps ran ----------------------------------------------------------------------


def step_label(task: str, paths: list[str]) -> str:
    """``task[sample]`` when its outputs are a sample's, else ``task``."""
    for path in paths:
        for sample in SAMPLES:
            if f"/{sample}/" in f"/{path}":
                return f"{task}[{sample}]"
    return task


def bridge_steps(folder: Path) -> list[str]:
    """The tool jobs of bridge's latest execution that ran (not replayed), each named by the
    task whose body made it."""
    from bridge import Config, Scheduler

    with Scheduler(config=Config.load(folder / ".bridge")) as scheduler:
        execution = scheduler.store.find_executions(limit=1)[0]
        graph = scheduler.store.execution_graph(execution["execution_id"])
    steps = []
    for job in graph.jobs:
        if job["task_name"] not in TOOL_TASKS or job["status"] != "DONE":
            continue
        parent = graph.by_id.get(job["parent_id"]) or job
        task = parent["task_name"].removeprefix(NAMESPACE)
        steps.append(step_label(task, [path for path, *_ in job["result_files"] or []]))
    return sorted(steps)


def bridge_warnings(log: str) -> list[str]:
    """The warnings `bridge run` printed (a version drift's, say)."""
    return [line.split(BRIDGE_WARNING, 1)[1].strip() for line in log.splitlines()
            if BRIDGE_WARNING in line]


JOB_HEADER = re.compile(r"^(?:local)?rule (\w+):$")
JOB_FIELD = re.compile(r"^\s+(\w+): (.*)$")


def snakemake_jobs(log: str) -> list[tuple[str, str]]:
    """(step, reason) of each job Snakemake started, but its target rule ``all``, from the
    blocks it prints: ``rule NAME:`` (or ``localrule``), then indented ``key: value`` lines
    (``wildcards: sample=...``, ``reason: ...``)."""
    jobs = []
    rule: str | None = None
    fields: dict[str, str] = {}
    for line in [*log.splitlines(), ""]:
        field_match = JOB_FIELD.match(line) if rule else None
        if field_match:
            fields[field_match[1]] = field_match[2]
            continue
        if rule and rule != "all":
            sample = re.search(r"sample=(\w+)", fields.get("wildcards", ""))
            jobs.append((f"{rule}[{sample[1]}]" if sample else rule, fields.get("reason", "")))
        header = JOB_HEADER.match(line)
        rule, fields = (header[1], {}) if header else (None, {})
    return jobs


def reason_kinds(reason: str) -> list[str]:
    """Snakemake's reason without the file lists: "Missing output files: a, b; Params have
    changed since last execution: ..." -> ["Missing output files", "Params have changed
    since last execution"]."""
    return [part.split(":")[0].strip() for part in reason.split(";") if part.strip()]


def snakemake_steps(log: str) -> tuple[list[str], list[str]]:
    jobs = snakemake_jobs(log)
    reasons = sorted({kind for _, reason in jobs for kind in reason_kinds(reason)})
    return sorted(step for step, _ in jobs), reasons


# --- results ------------------------------------------------------------------------------


def bam_digest(folder: Path) -> str:
    """A digest of the final BAMs' records (their headers name paths and command lines, which
    differ between the engines)."""
    digest = hashlib.sha256()
    for sample in SAMPLES:
        bam = folder / "results" / sample / f"{sample}.markdup.bam"
        digest.update(subprocess.run(["samtools", "view", str(bam)], check=True,
                                     capture_output=True).stdout)
    return digest.hexdigest()


def record_counts(folder: Path) -> dict[str, int]:
    return {sample: int(subprocess.run(
        ["samtools", "view", "-c", str(folder / "results" / sample / f"{sample}.markdup.bam")],
        check=True, capture_output=True, text=True).stdout) for sample in SAMPLES}


@dataclass
class Outcome:
    seconds: float
    steps: list[str]
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    records: dict[str, int] = field(default_factory=dict)
    digest: str = ""


@dataclass
class Result:
    scenario: str
    outcomes: dict[str, Outcome]

    def ratio(self) -> float | None:
        if {"bridge", "snakemake"} <= set(self.outcomes):
            return self.outcomes["snakemake"].seconds / self.outcomes["bridge"].seconds
        return None

    def same_results(self) -> str:
        digests = {o.digest for o in self.outcomes.values()}
        return "-" if len(self.outcomes) < 2 else "yes" if len(digests) == 1 else "no"


def measure(engines: list[str], base: Path) -> list[Result]:
    data = make_dataset(base / "dataset")
    argv, folders = {}, {}
    for engine in engines:
        folders[engine] = base / engine
        folders[engine].mkdir()
        shutil.copytree(data, folders[engine] / "data")
        argv[engine] = FOLDERS[engine](folders[engine])
    results = []
    for number, (scenario, change) in enumerate(SCENARIOS, 1):
        outcomes = {}
        for engine in engines:
            folder = folders[engine]
            change(folder, engine)
            log = folder / f"run{number}.log"
            print(f"  {engine}: {scenario}", file=sys.stderr, flush=True)
            seconds = run(argv[engine], folder, log)
            text = log.read_text(errors="replace")
            if engine == "bridge":
                outcome = Outcome(seconds, bridge_steps(folder), warnings=bridge_warnings(text))
            else:
                outcome = Outcome(seconds, *snakemake_steps(text))
            outcome.records, outcome.digest = record_counts(folder), bam_digest(folder)
            outcomes[engine] = outcome
        results.append(Result(scenario, outcomes))
    return results


# --- report -------------------------------------------------------------------------------


def summary(steps: list[str]) -> str:
    """"merge_fastq[sample1], cut_adapters[sample1], ..." in the pipeline's order, or
    "nothing"."""
    def order(step: str) -> tuple[int, str]:
        task = step.split("[")[0]
        return (STEPS.index(task) if task in STEPS else len(STEPS), step)

    return ", ".join(sorted(steps, key=order)) if steps else "nothing"


def report(results: list[Result], engines: list[str], markdown: bool) -> str:
    header = ["scenario"]
    for engine in engines:
        header += [f"{engine} s", f"{engine} steps run"]
    if len(engines) == 2:
        header += ["snakemake / bridge", "same final BAMs"]
    body = []
    for result in results:
        row = [result.scenario]
        for engine in engines:
            outcome = result.outcomes[engine]
            row += [f"{outcome.seconds:.1f}", str(len(outcome.steps))]
        if len(engines) == 2:
            ratio = result.ratio()
            row += ["-" if ratio is None else f"{ratio:.1f}x", result.same_results()]
        body.append(row)
    bullet = "- " if markdown else "  "
    lines = [table(tuple(header), body, markdown), "", "Steps each engine ran:", ""]
    for result in results:
        lines.append(f"{bullet}{result.scenario}:")
        for engine in engines:
            outcome = result.outcomes[engine]
            why = f" (reasons: {'; '.join(outcome.reasons)})" if outcome.reasons else ""
            warned = "".join(f" (warned: {w})" for w in outcome.warnings)
            lines.append(f"  {bullet}{engine}: {summary(outcome.steps)}{why}{warned}")
    first = results[0].outcomes
    lines += ["", "Final BAM records after the first run: " + "; ".join(
        f"{engine} {first[engine].records}" for engine in engines)]
    return "\n".join(lines)


def version(engine: str) -> str:
    """"bridge 0.1.0", "snakemake 9.27.1": the last word of ``--version``'s first line."""
    out = subprocess.run([str(COMMANDS[engine]), "--version"], capture_output=True,
                         text=True).stdout.split("\n")[0].split()
    return f"{engine} {out[-1] if out else '?'}"


def commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True).stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", nargs="+", choices=tuple(COMMANDS),
                        default=list(COMMANDS))
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--keep", action="store_true",
                        help="keep the run folders (their logs, stores, results)")
    args = parser.parse_args()
    for engine in {"bridge", *args.engines}:  # bridge makes the dataset
        if not COMMANDS[engine].exists():
            sys.exit(f"{COMMANDS[engine]} is missing: run `{SETUP[engine]}` first")
    base = Path(tempfile.mkdtemp(prefix="bench-read-alignment-"))
    load_before = os.getloadavg()[0]
    try:
        results = measure(args.engines, base)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    load_after = os.getloadavg()[0]
    quote = "`" if args.markdown else ""
    command = " ".join([os.path.relpath(sys.executable, ROOT),
                        os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    print(f"{quote}{command}{quote} (from the repo root), commit {commit()}, "
          f"{datetime.date.today()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, {', '.join(version(e) for e in args.engines)}; "
          f"--cores {CORES} for both; load average {load_before:.1f} before, "
          f"{load_after:.1f} after" + (f"; folders kept in {base}" if args.keep else "")
          + "\n")
    print(report(results, args.engines, args.markdown))


if __name__ == "__main__":
    main()
