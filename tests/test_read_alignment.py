"""The read-alignment example, run for real (bwa, samtools, cutadapt, Picard) on its
synthetic dataset, checked against what the simulation planted: every read maps, the
planted duplicates are found, the insert-size median and the depth match the
simulation; and a second run executes nothing."""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import shutil
import subprocess
import threading
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import BRIDGE

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "read_alignment"
TOOLS = ("bwa", "samtools", "cutadapt", "Rscript")
LOCAL_CONFIG = "[executors.tools]\ntype = local\n"


def missing_tools() -> list[str]:
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if not (shutil.which("picard") or shutil.which("PicardCommandLine")):
        missing.append("picard")
    return missing


pytestmark = pytest.mark.skipif(
    bool(missing_tools()),
    reason=f"{', '.join(missing_tools())} not installed (scripts/system-deps.sh installs them)",
)


# -- running the example ----------------------------------------------------------------


def load_example() -> Any:
    from bridge.loading import load_workflow

    return load_workflow(str(EXAMPLE / "workflow.py"))


def open_scheduler(root: Path, config: str | None = None) -> Any:
    """A scheduler on ``root/.bridge`` (writing ``config`` to its bridge.ini first)."""
    from bridge import Config, Scheduler

    if config is not None:
        (root / ".bridge").mkdir(parents=True, exist_ok=True)
        (root / ".bridge" / "bridge.ini").write_text(config)
    return Scheduler(config=Config.load(root / ".bridge"))


def run_main(root: Path, config: str, **kwargs: Any) -> tuple[Any, str]:
    """Run the example's main with bridge.ini ``config`` in ``root/.bridge``; returns
    (result, execution id)."""
    workflow = load_example()
    with open_scheduler(root, config) as scheduler:
        result = scheduler.run(workflow.main(**kwargs))
        latest = scheduler.store.find_executions(limit=1)[0]["execution_id"]
    return result, latest


def job_statuses(root: Path, execution_id: str, task: str | None = None) -> Counter:
    """How many of the execution's jobs (of `task` only, when named) ended in each status."""
    with open_scheduler(root) as scheduler:
        graph = scheduler.store.execution_graph(execution_id)
    return Counter(job["status"] for job in graph.jobs
                   if task is None or job["task_name"] == task)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The whole pipeline on the local executor, run twice."""
    root = tmp_path_factory.mktemp("read_alignment")
    out = str(root / "results")
    result, first = run_main(root, LOCAL_CONFIG, output_path=out)
    again, second = run_main(root, LOCAL_CONFIG, output_path=out)
    truth = json.loads((root / "results" / "data" / "truth.json").read_text())
    return {"root": root, "result": result, "again": again, "first": first,
            "second": second, "truth": truth}


@pytest.fixture
def http_folder(tmp_path: Path) -> Any:
    """(base URL, folder) of a plain HTTP server on 127.0.0.1 serving the folder."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


# -- reading the tools' outputs ---------------------------------------------------------


def samtools(*args: str) -> str:
    return subprocess.run(["samtools", *args], check=True, capture_output=True,
                          text=True).stdout


def flagstat(bam: str) -> dict[str, int]:
    """Counts from `samtools flagstat` by their label ("mapped", "duplicates", ...)."""
    counts = {}
    for line in samtools("flagstat", bam).splitlines():
        number, _, label = line.partition(" + 0 ")
        counts.setdefault(label.split(" (")[0], int(number))
    return counts


def picard_metrics(path: str) -> list[dict[str, str]]:
    """The rows of the metrics table of a Picard metrics file."""
    lines = Path(path).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## METRICS CLASS"))
    header = lines[start + 1].split("\t")
    rows = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        rows.append(dict(zip(header, line.split("\t"), strict=False)))
    return rows


def sample_ids(run: dict) -> list[str]:
    return sorted(run["truth"]["samples"])


# -- the science ------------------------------------------------------------------------


def test_every_sample_is_aligned_to_the_reference(local_run: dict) -> None:
    assert sorted(local_run["result"]) == sample_ids(local_run)
    for sample in sample_ids(local_run):
        bam = local_run["result"][sample]["bam"].path
        header = samtools("view", "-H", bam)
        assert "SO:coordinate" in header.splitlines()[0]
        assert f"@RG\tID:{sample}\tSM:{sample}" in header
        contigs = local_run["truth"]["params"]["contigs"]
        for name, length in contigs.items():
            assert f"@SQ\tSN:{name}\tLN:{length}" in header


def test_bams_are_coordinate_sorted_and_indexed(local_run: dict) -> None:
    for sample in sample_ids(local_run):
        outputs = local_run["result"][sample]
        bam = outputs["bam"].path
        assert outputs["bai"].path == bam + ".bai" and Path(outputs["bai"].path).exists()
        order = list(local_run["truth"]["params"]["contigs"])
        last = (-1, -1)
        for line in samtools("view", "-F", "4", bam).splitlines():
            fields = line.split("\t", 4)
            key = (order.index(fields[2]), int(fields[3]))
            assert key >= last, f"{sample}: {fields[0]} is out of coordinate order"
            last = key
        # the index answers region queries: idxstats counts add up to flagstat's
        indexed = sum(int(line.split("\t")[2]) for line in samtools("idxstats", bam).splitlines())
        assert indexed == flagstat(bam)["mapped"]
        assert int(samtools("view", "-c", bam, "chr2:1-1000").strip()) > 0


def test_nearly_all_reads_map(local_run: dict) -> None:
    for sample in sample_ids(local_run):
        truth = local_run["truth"]["samples"][sample]
        counts = flagstat(local_run["result"][sample]["bam"].path)
        # cutadapt keeps every pair: the shortest planted insert is longer than --minimum-length
        assert counts["primary"] == 2 * truth["read_pairs"]
        assert counts["primary mapped"] >= 0.99 * counts["primary"]
        summary = {row["CATEGORY"]: row for row in picard_metrics(
            local_run["result"][sample]["align_metrics"]["align_metrics"].path)}
        assert float(summary["PAIR"]["PCT_PF_READS_ALIGNED"]) >= 0.99


def test_planted_duplicates_are_marked(local_run: dict) -> None:
    for sample in sample_ids(local_run):
        planted = local_run["truth"]["samples"][sample]["duplicate_pairs"]
        metrics = picard_metrics(local_run["result"][sample]["dup_metrics"].path)[0]
        found = int(metrics["READ_PAIR_DUPLICATES"])
        assert abs(found - planted) <= max(3, 0.02 * planted), (sample, found, planted)
        assert flagstat(local_run["result"][sample]["bam"].path)["duplicates"] == 2 * found


def test_adapter_read_through_is_cut(local_run: dict) -> None:
    for sample in sample_ids(local_run):
        truth = local_run["truth"]["samples"][sample]
        report = json.loads(Path(local_run["result"][sample]["adapter_report"].path).read_text())
        with_adapter = report["read_counts"]["read1_with_adapter"]
        # every planted read-through is found; chance 5+ base matches add a few more
        assert truth["adapter_pairs"] <= with_adapter <= truth["adapter_pairs"] + 0.01 * (
            truth["read_pairs"])
        trimmed = local_run["result"][sample]["bam"].path.replace(".markdup.bam",
                                                                  ".trimmed.1.fastq.gz")
        with gzip.open(trimmed, "rt") as handle:
            assert not any("AGATCGGAAGAGC" in line for line in handle)


def test_insert_size_median_matches_the_simulation(local_run: dict) -> None:
    for sample in sample_ids(local_run):
        metrics = local_run["result"][sample]["align_metrics"]
        row = picard_metrics(metrics["insert_metrics"].path)[0]
        expected = local_run["truth"]["samples"][sample]["insert_median"]
        assert abs(float(row["MEDIAN_INSERT_SIZE"]) - expected) <= 5
        assert row["PAIR_ORIENTATION"] == "FR"
        assert Path(metrics["insert_size_hist"].path).read_bytes().startswith(b"%PDF")


def test_depth_matches_the_simulated_coverage(local_run: dict) -> None:
    genome_length = sum(local_run["truth"]["params"]["contigs"].values())
    for sample in sample_ids(local_run):
        depth_file = local_run["result"][sample]["depth_metrics"]["depth"].path
        lines = Path(depth_file).read_text().splitlines()
        depths = [int(line.rsplit("\t", 1)[1]) for line in lines]
        assert len(depths) == genome_length
        expected = local_run["truth"]["samples"][sample]["mean_depth"]
        assert sum(depths) / genome_length == pytest.approx(expected, rel=0.03)


def test_second_run_executes_no_task(local_run: dict) -> None:
    assert local_run["again"] == local_run["result"]
    first = job_statuses(local_run["root"], local_run["first"])
    assert first["DONE"] > 20 and first["FAILED"] == 0
    second = job_statuses(local_run["root"], local_run["second"])
    assert set(second) == {"CACHED"}


def test_bridge_log_shows_the_final_bams_upstream_dataflow(local_run: dict) -> None:
    from click.testing import CliRunner

    from bridge.cli import cli

    bam = local_run["result"]["sample1"]["bam"].path
    runner = CliRunner()
    with contextlib.chdir(local_run["root"]):
        shown = runner.invoke(cli, ["log", bam])
    assert shown.exit_code == 0, shown.output
    flow = shown.output.split("Upstream dataflow:")[1]
    for step in ("mark_dups", "run_bwa", "cut_adapters", "merge_fastq", "index_genome_ref",
                 "download_genome_ref", "get_sample_read_pairs", "prepare_samples"):
        # each step named as a call, with its hash: <1a2b3c4d> run_bwa(
        assert re.search(rf"<[0-9a-f]{{8}}> {step}\(", flow), f"{step} missing from:\n{flow}"
    for lane in ("L001", "L002"):
        for mate in (1, 2):
            assert f"sample1_{lane}_R{mate}.fastq.gz" in flow, flow


def test_one_step_runs_alone_from_the_command_line(local_run: dict) -> None:
    """The README's debugging recipe: re-run duplicate marking of one sample elsewhere."""
    root = local_run["root"]
    aligned = local_run["result"]["sample1"]["bam"].path.replace(".markdup.bam", ".aln.bam")
    done = subprocess.run(
        [BRIDGE, "run", str(EXAMPLE / "workflow.py"), "mark_dups", "--bam", aligned,
         "--output-path", str(root / "debug" / "sample1.markdup")],
        cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "read_alignment.mark_dups" in done.stderr
    assert "debug/sample1.markdup.bam" in done.stdout
    counts = flagstat(str(root / "debug" / "sample1.markdup.bam"))
    assert counts["duplicates"] == flagstat(local_run["result"]["sample1"]["bam"].path)[
        "duplicates"] > 0


def test_the_reference_downloads_over_http_plain_or_gzipped(http_folder: Any,
                                                            tmp_path: Path) -> None:
    from bridge import File

    base_url, folder = http_folder
    fasta = ">chrT\nACGTACGTTTGA\n"
    (folder / "plain.fa").write_text(fasta)
    (folder / "zipped.fa.gz").write_bytes(gzip.compress(fasta.encode()))
    workflow = load_example()
    for name, expected in (("plain.fa", "plain.fa"), ("zipped.fa.gz", "genome.fa")):
        with open_scheduler(tmp_path, LOCAL_CONFIG) as scheduler:
            copied = scheduler.run(workflow.download_genome_ref(
                File(f"{base_url}/{name}"), str(tmp_path / "ref" / name.split(".")[0])))
        assert copied.path == str(tmp_path / "ref" / name.split(".")[0] / expected)
        assert Path(copied.path).read_text() == fasta


def test_a_manifest_named_without_a_folder_is_read_relative_to_the_current_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge import File

    monkeypatch.chdir(tmp_path)
    Path("samples.tsv").write_text("sample_id\tlane\treads1\treads2\n"
                                   "s1\tL001\tfq/s1_R1.fastq.gz\tfq/s1_R2.fastq.gz\n")
    with open_scheduler(tmp_path, LOCAL_CONFIG) as scheduler:
        pairs = scheduler.run(load_example().get_sample_read_pairs(File("samples.tsv")))
    assert pairs == {"s1": {"1": [File("fq/s1_R1.fastq.gz")], "2": [File("fq/s1_R2.fastq.gz")]}}
