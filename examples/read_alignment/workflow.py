"""Whole-genome sequencing read alignment: paired-end FASTQ lanes in, analysis-ready BAMs
and their quality metrics out.

    bridge run workflow.py main                        # synthetic data, results/ here
    bridge run workflow.py main --samples-file s3://bucket/data/samples.tsv \\
        --genome-ref-src s3://bucket/data/reference/genome.fa --output-path s3://bucket/run1

Per sample: merge the lanes, cut adapters (cutadapt), align (bwa mem, or bwa-mem2 when
installed) and sort (samtools), mark duplicates (Picard), recalibrate base qualities
(GATK, only when installed), and collect alignment, insert-size and depth metrics.

Every shell step is a script() on the executor named ``tools``, each in a fresh folder of
its own (``tempdir=True``: samples stage files under the same names); bridge.ini decides
whether that is this machine, a Docker container or an AWS Batch job, and outputs go
wherever ``--output-path`` points (a folder or an ``s3://`` prefix).
"""

from __future__ import annotations

import csv
import io
import json

from bridge import File, copy_file, script, task

bridge_namespace = "read_alignment"

TOOLS = "tools"  # the executor every shell step runs on (see .bridge/bridge.ini)
BWA_INDEX_EXTS = ("amb", "ann", "bwt", "pac", "sa")
BWA_MEM2_INDEX_EXTS = ("0123", "amb", "ann", "bwt.2bit.64", "pac")
ADAPTER1 = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"  # Illumina TruSeq, read 1
ADAPTER2 = "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT"  # Illumina TruSeq, read 2
# Debian installs Picard as PicardCommandLine, bioconda as picard.
PICARD = (
    'picard=$(command -v picard || command -v PicardCommandLine)\n'
    'export JAVA_OPTIONS="-XX:+UseSerialGC"\n'
)


def join(base: str, *parts: str) -> str:
    """A path under ``base`` that works alike for folders and s3:// prefixes. An empty
    base is the current folder (a manifest named without a folder, say)."""
    if not base:
        return "/".join(parts)
    return "/".join([base.rstrip("/"), *parts])


def staged_bam(bam_path: str, local: str) -> dict:
    """A script's BAM output and its index (``samtools index``), staged out together."""
    return {"bam": File(bam_path).stage(local),
            "bai": File(f"{bam_path}.bai").stage(f"{local}.bai")}


# -- inputs -----------------------------------------------------------------------------


@task(version="1")
def prepare_samples(output_path: str = "data") -> dict:
    """Write the small synthetic dataset (reference, FASTQs, manifest, truth).

    A reference genome, two samples sequenced on two lanes each (gzipped paired FASTQs),
    the samples manifest, and what the simulation planted (truth.json)."""
    from simulate import simulate  # beside this file; only this task needs it

    reference, lanes, truth = simulate()
    genome_ref = File(join(output_path, "reference", "genome.fa")).write(reference)
    rows = []
    for lane in lanes:
        names = [f"{lane.sample}/{lane.sample}_{lane.lane}_R{mate}.fastq.gz" for mate in (1, 2)]
        File(join(output_path, "samples", names[0])).write(lane.reads1)
        File(join(output_path, "samples", names[1])).write(lane.reads2)
        rows.append([lane.sample, lane.lane, *(f"samples/{name}" for name in names)])
    manifest = io.StringIO()
    csv.writer(manifest, delimiter="\t", lineterminator="\n").writerows(
        [["sample_id", "lane", "reads1", "reads2"], *rows])
    # No variants were planted, so the known-sites file for base recalibration is empty.
    contigs = "".join(f"##contig=<ID={name},length={length}>\n"
                      for name, length in truth["params"]["contigs"].items())
    known_sites = File(join(output_path, "reference", "known_sites.vcf")).write(
        "##fileformat=VCFv4.2\n" + contigs + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    return {
        "samples_file": File(join(output_path, "samples.tsv")).write(manifest.getvalue()),
        "genome_ref": genome_ref,
        "known_sites": known_sites,
        "truth": File(join(output_path, "truth.json")).write(json.dumps(truth, indent=2)),
    }


@task(version="2")  # 2: a manifest named without a folder is read relative to the current one
def get_sample_read_pairs(samples_file: File) -> dict:
    """Read the samples manifest into {sample_id: {"1": [lane FASTQs], "2": [...]}}.

    The manifest is a TSV with columns sample_id, lane, reads1, reads2; relative paths are
    relative to the manifest's folder."""
    base = samples_file.dirname()
    samples: dict[str, dict[str, list[File]]] = {}
    rows = csv.DictReader(io.StringIO(samples_file.read()), delimiter="\t")
    for row in sorted(rows, key=lambda r: (r["sample_id"], r["lane"])):
        pairs = samples.setdefault(row["sample_id"], {"1": [], "2": []})
        for mate in ("1", "2"):
            path = row[f"reads{mate}"]
            pairs[mate].append(File(path if "://" in path or path.startswith("/")
                                    else join(base, path)))
    return samples


@task(version="1")
def download_genome_ref(genome_ref_src: File, ref_dir: str) -> File:
    """Copy the reference genome into the output area.

    The source may be a local, http(s):// or s3:// FASTA, gzipped or not; the copy is where
    the indexes will sit beside it."""
    if genome_ref_src.path.endswith(".gz"):
        return script(
            "gzip -dc genome.fa.gz > genome.fa",
            inputs=[genome_ref_src.stage("genome.fa.gz")],
            outputs=File(join(ref_dir, "genome.fa")).stage("genome.fa"),
            tempdir=True, executor=TOOLS,
        )
    return copy_file(genome_ref_src, join(ref_dir, genome_ref_src.basename()))


@task(version="1")
def find_tools() -> dict:
    """Ask the tools executor whether it has bwa-mem2 (else bwa is used) and gatk."""
    return parse_tool_report(script(
        """
        for tool in bwa-mem2 gatk; do
            command -v "$tool" >/dev/null 2>&1 && echo "$tool=yes" || echo "$tool=no"
        done
        """,
        executor=TOOLS,
    ))


@task(version="1")
def parse_tool_report(report: str) -> dict:
    """Turn find_tools' "tool=yes|no" lines into {"aligner": ..., "gatk": bool}."""
    found = dict(line.split("=") for line in report.split())
    return {"aligner": "bwa-mem2" if found["bwa-mem2"] == "yes" else "bwa",
            "gatk": found["gatk"] == "yes"}


@task(version="1")
def index_genome_ref(genome_ref: File, aligner: str = "bwa") -> dict:
    """Index the reference for the aligner, samtools (.fai) and Picard (.dict)."""
    exts = BWA_MEM2_INDEX_EXTS if aligner == "bwa-mem2" else BWA_INDEX_EXTS
    base = genome_ref.path.rsplit(".", 1)[0]
    outputs = {ext: File(f"{genome_ref.path}.{ext}").stage(f"genome.fa.{ext}") for ext in exts}
    outputs["fai"] = File(f"{genome_ref.path}.fai").stage("genome.fa.fai")
    outputs["dict"] = File(f"{base}.dict").stage("genome.dict")
    return script(
        f"""
        {aligner} index genome.fa
        samtools faidx genome.fa
        samtools dict -o genome.dict genome.fa
        """,
        inputs=[genome_ref.stage("genome.fa")],
        outputs=outputs,
        tempdir=True, executor=TOOLS,
    )


# -- per-sample steps -------------------------------------------------------------------


@task(version="1")
def merge_fastq(reads1: list[File], reads2: list[File], output_path: str) -> dict:
    """Concatenate a sample's lanes, per mate.

    Concatenated gzip files are a valid gzip file, so no recompression is needed."""
    lanes1 = [f"lane{i}_1.fastq.gz" for i in range(len(reads1))]
    lanes2 = [f"lane{i}_2.fastq.gz" for i in range(len(reads2))]
    return script(
        f"""
        cat {" ".join(lanes1)} > reads1.fastq.gz
        cat {" ".join(lanes2)} > reads2.fastq.gz
        """,
        inputs=[f.stage(local) for f, local in zip([*reads1, *reads2], [*lanes1, *lanes2],
                                                   strict=True)],
        outputs={
            "reads1": File(f"{output_path}.1.fastq.gz").stage("reads1.fastq.gz"),
            "reads2": File(f"{output_path}.2.fastq.gz").stage("reads2.fastq.gz"),
        },
        tempdir=True, executor=TOOLS,
    )


@task(version="1")
def cut_adapters(reads1: File, reads2: File, output_path: str, adapter1: str = ADAPTER1,
                 adapter2: str = ADAPTER2, min_length: int = 30, max_n: float = 0.1,
                 threads: int = 2) -> dict:
    """Cut adapter read-through from both mates with cutadapt.

    Pairs left shorter than ``min_length`` or with too many Ns are dropped."""
    return script(
        f"""
        cutadapt -j "$BRIDGE_CPUS" -a {adapter1} -A {adapter2} --overlap 5 \\
            --minimum-length {min_length} --max-n {max_n} --json report.json \\
            -o trimmed1.fastq.gz -p trimmed2.fastq.gz reads1.fastq.gz reads2.fastq.gz \\
            > cutadapt.log
        """,
        inputs=[reads1.stage("reads1.fastq.gz"), reads2.stage("reads2.fastq.gz")],
        outputs={
            "reads1": File(f"{output_path}.1.fastq.gz").stage("trimmed1.fastq.gz"),
            "reads2": File(f"{output_path}.2.fastq.gz").stage("trimmed2.fastq.gz"),
            "report": File(f"{output_path}.json").stage("report.json"),
            "log": File(f"{output_path}.log").stage("cutadapt.log"),
        },
        tempdir=True, executor=TOOLS, vcpus=threads,
    )


@task(version="1")
def run_bwa(sample_id: str, reads1: File, reads2: File, output_bam_path: str,
            genome_ref: File, genome_ref_index: dict, aligner: str = "bwa",
            platform: str = "ILLUMINA", threads: int = 2) -> dict:
    """Align a sample's read pairs (with its read group), then sort and index the BAM."""
    read_group = f"@RG\\tID:{sample_id}\\tSM:{sample_id}\\tLB:{sample_id}\\tPL:{platform}"
    return script(
        f"""
        {aligner} mem -t "$BRIDGE_CPUS" -R '{read_group}' genome.fa reads1.fastq.gz \\
            reads2.fastq.gz | samtools sort -@ "$BRIDGE_CPUS" -o sample.bam -
        samtools index sample.bam
        """,
        inputs=[genome_ref.stage("genome.fa"), reads1.stage("reads1.fastq.gz"),
                reads2.stage("reads2.fastq.gz"),
                *[f.stage(f"genome.fa.{ext}") for ext, f in genome_ref_index.items()]],
        outputs=staged_bam(output_bam_path, "sample.bam"),
        tempdir=True, executor=TOOLS, vcpus=threads, memory=4,
    )


@task(version="1")
def mark_dups(bam: File, output_path: str) -> dict:
    """Flag PCR and optical duplicates with Picard MarkDuplicates."""
    return script(
        PICARD + """
        "$picard" MarkDuplicates --INPUT sample.bam --OUTPUT markdup.bam \\
            --METRICS_FILE markdup_metrics.txt >&2
        samtools index markdup.bam
        """,
        inputs=[bam.stage("sample.bam")],
        outputs={
            **staged_bam(f"{output_path}.bam", "markdup.bam"),
            "dup_metrics": File(f"{output_path}_metrics.txt").stage("markdup_metrics.txt"),
        },
        tempdir=True, executor=TOOLS, memory=4,
    )


@task(version="1")
def base_recalib(bam: File, output_path: str, genome_ref: File, genome_ref_index: dict,
                 known_sites: list[File]) -> dict:
    """Recalibrate base qualities with GATK BaseRecalibrator and ApplyBQSR."""
    sites = [f"sites{i}.vcf" + (".gz" if f.path.endswith(".gz") else "")
             for i, f in enumerate(known_sites)]
    return script(
        "".join(f"gatk IndexFeatureFile -I {site} >&2\n" for site in sites)
        + f"""
        gatk BaseRecalibrator -I sample.bam -R genome.fa {" ".join(f"--known-sites {s}"
                                                                    for s in sites)} \\
            -O recal.table >&2
        gatk ApplyBQSR -I sample.bam -R genome.fa --bqsr-recal-file recal.table \\
            -O recal.bam >&2
        samtools index recal.bam
        """,
        inputs=[bam.stage("sample.bam"), genome_ref.stage("genome.fa"),
                genome_ref_index["fai"].stage("genome.fa.fai"),
                genome_ref_index["dict"].stage("genome.dict"),
                *[f.stage(local) for f, local in zip(known_sites, sites, strict=True)]],
        outputs={
            **staged_bam(f"{output_path}.bam", "recal.bam"),
            "recal": File(f"{output_path}.table").stage("recal.table"),
        },
        tempdir=True, executor=TOOLS, memory=4,
    )


@task(version="1")
def collect_align_metrics(bam: File, output_path: str, genome_ref: File) -> dict:
    """Collect alignment summary and insert-size metrics, and the insert-size histogram."""
    return script(
        PICARD + """
        "$picard" CollectMultipleMetrics --INPUT sample.bam --REFERENCE_SEQUENCE genome.fa \\
            --OUTPUT metrics --PROGRAM null --PROGRAM CollectAlignmentSummaryMetrics \\
            --PROGRAM CollectInsertSizeMetrics >&2
        """,
        inputs=[bam.stage("sample.bam"), genome_ref.stage("genome.fa")],
        outputs={
            "align_metrics": File(f"{output_path}.alignment_summary_metrics.txt").stage(
                "metrics.alignment_summary_metrics"),
            "insert_metrics": File(f"{output_path}.insert_size_metrics.txt").stage(
                "metrics.insert_size_metrics"),
            "insert_size_hist": File(f"{output_path}.insert_size_histogram.pdf").stage(
                "metrics.insert_size_histogram.pdf"),
        },
        tempdir=True, executor=TOOLS, memory=4,
    )


@task(version="1")
def collect_depth_metrics(bam: File, output_path: str) -> dict:
    """Collect the depth at every reference position (duplicates excluded), and its mean."""
    return script(
        """
        samtools depth -a sample.bam > depth.txt
        awk '{ sum += $3; covered += ($3 > 0) }
             END { printf "positions\\t%d\\nmean_depth\\t%.4f\\ncovered_fraction\\t%.4f\\n",
                   NR, sum / NR, covered / NR }' depth.txt > depth_summary.txt
        """,
        inputs=[bam.stage("sample.bam")],
        outputs={
            "depth": File(f"{output_path}.depth.txt").stage("depth.txt"),
            "summary": File(f"{output_path}.depth_summary.txt").stage("depth_summary.txt"),
        },
        tempdir=True, executor=TOOLS,
    )


# -- composition ------------------------------------------------------------------------


@task(version="1")
def align_sample(sample_id: str, read_pairs: dict, genome_ref: File, genome_ref_index: dict,
                 output_path: str, tools: dict, known_sites: list | None = None) -> dict:
    """Run every step for one sample, from FASTQ lanes to a BAM and its metrics.

    Outputs go under ``output_path/sample_id/``."""
    prefix = join(output_path, sample_id, sample_id)
    reads = merge_fastq(read_pairs["1"], read_pairs["2"], prefix)
    trimmed = cut_adapters(reads["reads1"], reads["reads2"], f"{prefix}.trimmed")
    aligned = run_bwa(sample_id, trimmed["reads1"], trimmed["reads2"], f"{prefix}.aln.bam",
                      genome_ref, _aligner_index(genome_ref_index, tools["aligner"]),
                      aligner=tools["aligner"])
    marked = mark_dups(aligned["bam"], f"{prefix}.markdup")
    final = marked
    if tools["gatk"] and known_sites:
        final = base_recalib(marked["bam"], f"{prefix}.recal", genome_ref, genome_ref_index,
                             known_sites)
    return {
        "bam": final["bam"],
        "bai": final["bai"],
        "dup_metrics": marked["dup_metrics"],
        "adapter_report": trimmed["report"],
        "align_metrics": collect_align_metrics(final["bam"], prefix, genome_ref),
        "depth_metrics": collect_depth_metrics(final["bam"], prefix),
    }


def _aligner_index(genome_ref_index: dict, aligner: str) -> dict:
    exts = BWA_MEM2_INDEX_EXTS if aligner == "bwa-mem2" else BWA_INDEX_EXTS
    return {ext: genome_ref_index[ext] for ext in exts}


@task(version="1")
def align_samples(samples: dict, genome_ref: File, genome_ref_index: dict, output_path: str,
                  tools: dict, known_sites: list | None = None) -> dict:
    """Align every sample in parallel (a fan-out whose width is known only at run time)."""
    return {
        sample_id: align_sample(sample_id, read_pairs, genome_ref, genome_ref_index,
                                output_path, tools, known_sites)
        for sample_id, read_pairs in samples.items()
    }


@task(version="1")
def main(output_path: str = "results", samples_file: File | None = None,
         genome_ref_src: File | None = None, known_sites: list[File] | None = None,
         aligner: str = "auto") -> dict:
    """Align every sample of a manifest to a reference genome, with metrics.

    Reads ``samples_file``, aligns to ``genome_ref_src``, and writes under ``output_path``.
    Without a samples file, it makes the synthetic dataset first (in ``output_path/data``)
    and aligns that. ``genome_ref_src`` defaults to ``reference/genome.fa`` beside the
    samples file. ``aligner``: bwa, bwa-mem2, or auto (bwa-mem2 when the tools executor
    has it). Base recalibration runs when the tools executor has gatk."""
    if samples_file is None:
        data = prepare_samples(join(output_path, "data"))
        samples_file, genome_ref_src = data["samples_file"], data["genome_ref"]
        known_sites = known_sites or [data["known_sites"]]
    elif genome_ref_src is None:  # the layout prepare_samples writes
        genome_ref_src = File(join(samples_file.dirname(), "reference", "genome.fa"))
    tools = find_tools()
    if aligner != "auto":
        tools = {"aligner": aligner, "gatk": tools["gatk"]}
    genome_ref = download_genome_ref(genome_ref_src, join(output_path, "reference"))
    genome_ref_index = index_genome_ref(genome_ref, tools["aligner"])
    return align_samples(get_sample_read_pairs(samples_file), genome_ref, genome_ref_index,
                         output_path, tools, known_sites)
