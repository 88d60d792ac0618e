"""A pretend sequencing pipeline, in the spirit of redun's toy bioinformatics example:
align each sample's reads, then call variants on the alignment.

    bridge run workflow.py run_sample
    bridge run workflow.py run_samples --n 4

Upgrading the caller (editing call_variants) re-runs only the calling step of each
sample; the alignments replay from the cache.
"""

from bridge import task

redun_namespace = "redun_style.bioinfo_toy"


@task()
def align_reads(reads: str) -> str:
    return f"aligned[{reads}]"


@task()
def call_variants(alignment: str) -> str:
    return f"variants[{alignment}]"


@task()
def run_sample(reads: str = "reads-s0") -> str:
    return call_variants(align_reads(reads))


@task()
def run_samples(n: int = 3) -> list:
    calls = []
    for i in range(n):
        alignment = align_reads(f"reads-s{i}")
        calls.append(call_variants(alignment))
    return calls
