"""bench/bench_read_alignment.py reads which steps Snakemake ran from the job blocks it
prints (the bench itself, which runs Snakemake, is not part of the suite)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_read_alignment.py"

# Shortened from what Snakemake 9.27 printed in the bench's pinned-edit scenario.
LOG = """\
Select jobs to execute...
Execute 1 jobs...

[Wed Dec  2 05:02:43 2026]
localrule cut_adapters:
    input: results/sample2/sample2.1.fastq.gz, results/sample2/sample2.2.fastq.gz
    output: results/sample2/sample2.trimmed.1.fastq.gz, results/sample2/sample2.trimmed.json
    jobid: 9
    reason: Params have changed since last execution: before: 30 now: 60
    wildcards: sample=sample2
    threads: 2
    resources: tmpdir=/tmp
Select jobs to execute...
[Wed Dec  2 05:02:45 2026]
Finished jobid: 9 (Rule: cut_adapters)
1 of 12 steps (8%) done

[Wed Dec  2 05:02:45 2026]
localrule merge_fastq:
    input: data/samples/sample1/sample1_L001_R1.fastq.gz
    output: results/sample1/sample1.1.fastq.gz, results/sample1/sample1.2.fastq.gz
    jobid: 4
    reason: Missing output files: results/sample1/sample1.1.fastq.gz
    wildcards: sample=sample1
    resources: tmpdir=/tmp

[Wed Dec  2 05:02:46 2026]
rule index_genome_ref:
    input: results/reference/genome.fa
    reason: Updated input files: results/reference/genome.fa; Missing output files: x
[Wed Dec  2 05:02:47 2026]
localrule all:
    input: results/sample1/sample1.markdup.bam
    jobid: 0
    reason: Input files updated by another job: results/sample1/sample1.markdup.bam
"""


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_read_alignment", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_steps_snakemake_ran_are_read_from_its_job_blocks() -> None:
    bench = load_bench()
    steps, reasons = bench.snakemake_steps(LOG)
    assert steps == ["cut_adapters[sample2]", "index_genome_ref", "merge_fastq[sample1]"]
    assert reasons == ["Missing output files", "Params have changed since last execution",
                       "Updated input files"]
    assert bench.snakemake_steps("Nothing to be done (all requested files are present and "
                                 "up to date).\n") == ([], [])
