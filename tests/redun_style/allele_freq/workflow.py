"""Per-sample read coverage, merged pairwise by recursion into one table, then the
fraction of samples covering each position. The recursive mergers check only their own
results (check_valid="shallow"), so re-running with one more sample merges the new sample
into the cached merge of the others."""

import random

from bridge import File, seq, task

bridge_namespace = "redun_style.allele_freq"


def ran(name: str) -> None:
    with open("ran.log", "a") as log:
        log.write(name + "\n")


def write_counts(path: str, counts: dict) -> File:
    out = File(path)
    with out.open("w") as lines:
        for pos in sorted(counts):
            lines.write(f"{pos}\t{counts[pos]}\n")
    return out


def read_counts(file: File) -> dict:
    with file.open() as lines:
        return {int(pos): int(n) for pos, n in (line.split() for line in lines)}


@task()
def sim_sample(data_path: str, sample_id: int, length: int = 50) -> File:
    ran(f"sim_sample:{sample_id}")
    rng = random.Random(sample_id)
    start = rng.randrange(length // 2)
    covered = range(start, start + rng.randrange(5, length // 2))
    return write_counts(f"{data_path}/{sample_id}.cov", {pos: 1 for pos in covered})


@task(check_valid="shallow")
def sim_samples(data_path: str, nsamples: int) -> list:
    return [sim_sample(data_path, sample_id) for sample_id in range(nsamples)]


@task()
def merge_pair(out_path: str, first: int, last: int, left: File, right: File) -> File:
    ran(f"merge_pair:{first}-{last}")
    counts = read_counts(left)
    for pos, n in read_counts(right).items():
        counts[pos] = counts.get(pos, 0) + n
    return write_counts(f"{out_path}/{first}_{last}.cov", counts)


def midpoint(n: int) -> int:
    """The largest power of two below n: adding a sample keeps the earlier halves."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@task(check_valid="shallow")
def merge_all(out_path: str, samples: list) -> tuple:
    """(first sample id, last sample id, merged counts) of [(sample id, File), ...]."""
    if len(samples) == 1:
        (sample_id, counts), = samples
        return (sample_id, sample_id, counts)
    k = midpoint(len(samples))
    left = merge_all(out_path, samples[:k])
    right = merge_all(out_path, samples[k:])
    return (left[0], right[1], merge_pair(out_path, left[0], right[1], left[2], right[2]))


@task()
def frequencies(out_path: str, nsamples: int, merged: tuple) -> File:
    ran("frequencies")
    freqs = {pos: n / nsamples for pos, n in read_counts(merged[2]).items()}
    out = File(f"{out_path}/frequencies.tsv")
    out.write("".join(f"{pos}\t{freq:.2f}\n" for pos, freq in sorted(freqs.items())))
    return out


@task()
def calc_frequencies(nsamples: int, data_path: str, out_path: str) -> File:
    samples = [(i, File(f"{data_path}/{i}.cov")) for i in range(nsamples)]
    return frequencies(out_path, nsamples, merge_all(out_path, samples))


@task()
def main(nsamples: int = 4, data_path: str = "data", out_path: str = "computed") -> File:
    simulated = sim_samples(data_path, nsamples)
    return seq([simulated, calc_frequencies(nsamples, data_path, out_path)])[-1]
