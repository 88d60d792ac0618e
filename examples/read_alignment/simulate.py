"""A tiny, deterministic whole-genome sequencing dataset with a known truth.

A random reference genome, and paired-end Illumina-like reads sampled from it for a few
samples over a few lanes. Into the reads we plant what a real library has, in amounts we
record, so a test can check that the pipeline finds them:

- PCR duplicates: a fraction of fragments is sequenced twice (fresh sequencing errors each
  time, possibly on the other lane), which duplicate marking should flag;
- adapter read-through: a fraction of fragments is shorter than the read, so the read runs
  on into the adapter, which adapter cutting should remove;
- a normal insert-size distribution, whose median the insert-size metrics should find;
- a known mean depth of coverage (of the distinct fragments).

Everything comes from seeded random generators, and gzip headers carry no timestamp, so
the same parameters always give byte-identical files.
"""

from __future__ import annotations

import gzip
import random
from dataclasses import asdict, dataclass, field

# Illumina TruSeq adapters, as read through at the 3' end of read 1 and read 2.
ADAPTER_R1 = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCACATCACGATCTCGTATGCCGTCTTCTGCTTG"
ADAPTER_R2 = "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGTAGATCTCGGTGGTCGCCGTATCATTAAAAAAA"
COMPLEMENT = str.maketrans("ACGT", "TGCA")


@dataclass
class Params:
    """What to simulate. The defaults make a dataset the whole pipeline aligns in seconds."""

    contigs: dict[str, int] = field(default_factory=lambda: {"chr1": 160_000, "chr2": 90_000})
    samples: tuple[str, ...] = ("sample1", "sample2")
    lanes: tuple[str, ...] = ("L001", "L002")
    fragments_per_lane: int = 3000  # distinct fragments per sample and lane
    read_length: int = 100
    insert_mean: int = 300
    insert_sd: int = 30
    duplicate_fraction: float = 0.06  # fragments sequenced a second time
    adapter_fraction: float = 0.04  # fragments shorter than the read
    short_insert: tuple[int, int] = (50, 90)
    error_rate: float = 0.003
    seed: int = 7


@dataclass
class SampleTruth:
    """What was planted in one sample's reads (counts are read pairs)."""

    read_pairs: int
    distinct_fragments: int
    duplicate_pairs: int
    adapter_pairs: int
    insert_median: float
    mean_depth: float


@dataclass
class Lane:
    sample: str
    lane: str
    reads1: bytes  # gzipped FASTQ
    reads2: bytes


@dataclass
class Fragment:
    contig: str
    start: int
    sequence: str  # as read from the 5' end of read 1 (reverse-complemented when reverse)


def reverse_complement(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


def make_reference(params: Params) -> str:
    """The reference genome as FASTA text (60 bases a line)."""
    rng = random.Random(params.seed)
    lines = []
    for name, length in params.contigs.items():
        seq = "".join(rng.choices("ACGT", k=length))
        lines.append(f">{name}")
        lines += [seq[i : i + 60] for i in range(0, length, 60)]
    return "\n".join(lines) + "\n"


def read_fasta(text: str) -> dict[str, str]:
    contigs: dict[str, list[str]] = {}
    name = ""
    for line in text.splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            contigs[name] = []
        elif line:
            contigs[name].append(line.strip())
    return {name: "".join(parts) for name, parts in contigs.items()}


def simulate_sample(
    params: Params, genome: dict[str, str], sample_index: int
) -> tuple[list[Lane], SampleTruth]:
    """The lanes of one sample, and what was planted in them."""
    rng = random.Random(params.seed * 1000 + sample_index)
    sample = params.samples[sample_index]
    n_lanes = len(params.lanes)
    total = params.fragments_per_lane * n_lanes
    fragments = [_fragment(rng, params, genome) for _ in range(total)]
    # (fragment, lane) in sequencing order: every distinct fragment once on its own lane,
    # then the duplicated ones again on a random lane.
    reads = [(frag, i % n_lanes) for i, frag in enumerate(fragments)]
    duplicated = rng.sample(range(total), round(total * params.duplicate_fraction))
    reads += [(fragments[i], rng.randrange(n_lanes)) for i in duplicated]

    lanes = []
    for lane_index, lane in enumerate(params.lanes):
        r1, r2 = [], []
        numbered = (pair for pair in enumerate(reads) if pair[1][1] == lane_index)
        for number, (frag, _) in numbered:
            name = f"{sample}.{lane}.{number:06d}"
            r1.append(_fastq(name, _read(rng, params, frag.sequence, ADAPTER_R1)))
            r2.append(_fastq(name, _read(rng, params, reverse_complement(frag.sequence),
                                         ADAPTER_R2)))
        lanes.append(Lane(sample, lane, _gzip("".join(r1)), _gzip("".join(r2))))

    length = params.read_length
    sizes = sorted(len(f.sequence) for f in fragments)
    covered = sum(2 * min(length, len(f.sequence)) for f in fragments)
    truth = SampleTruth(
        read_pairs=len(reads),
        distinct_fragments=total,
        duplicate_pairs=len(duplicated),
        adapter_pairs=sum(1 for frag, _ in reads if len(frag.sequence) < length),
        insert_median=float(sizes[len(sizes) // 2]),
        mean_depth=covered / sum(len(seq) for seq in genome.values()),
    )
    return lanes, truth


def simulate(params: Params | None = None) -> tuple[str, list[Lane], dict]:
    """(reference FASTA text, every lane of every sample, truth as a JSON-ready dict)."""
    params = params or Params()
    reference = make_reference(params)
    genome = read_fasta(reference)
    lanes: list[Lane] = []
    truth: dict = {"params": asdict(params), "samples": {}}
    for index, sample in enumerate(params.samples):
        sample_lanes, sample_truth = simulate_sample(params, genome, index)
        lanes += sample_lanes
        truth["samples"][sample] = asdict(sample_truth)
    return reference, lanes, truth


def _fragment(rng: random.Random, params: Params, genome: dict[str, str]) -> Fragment:
    if rng.random() < params.adapter_fraction:
        size = rng.randint(*params.short_insert)
    else:
        size = max(params.read_length, round(rng.gauss(params.insert_mean, params.insert_sd)))
    names = list(genome)
    contig = rng.choices(names, weights=[len(genome[n]) for n in names])[0]
    start = rng.randrange(len(genome[contig]) - size)
    seq = genome[contig][start : start + size]
    if rng.random() < 0.5:
        seq = reverse_complement(seq)
    return Fragment(contig, start, seq)


def _read(rng: random.Random, params: Params, template: str, adapter: str) -> str:
    """The first read_length bases of template, running on into the adapter when the
    template is short, with substitution errors at error_rate."""
    bases = list((template + adapter)[: params.read_length])
    for i in range(len(bases)):
        if rng.random() < params.error_rate:
            bases[i] = rng.choice([b for b in "ACGT" if b != bases[i]])
    return "".join(bases)


def _fastq(name: str, seq: str) -> str:
    return f"@{name}\n{seq}\n+\n{'F' * len(seq)}\n"


def _gzip(text: str) -> bytes:
    return gzip.compress(text.encode(), compresslevel=6, mtime=0)
