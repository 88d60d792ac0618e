"""The report of a read-alignment run, opened in a real browser (Debian's chromium,
headless, driven by Playwright): it loads from the file alone with no console or page
error, shows every step of the run, and clicking the final BAM of a sample shows the
chain of steps that made it down to the sample's FASTQ lanes. A screenshot is kept under
``$BRIDGE_TEST_ARTIFACTS`` (default: ``test-artifacts/`` in the repository)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_read_alignment import LOCAL_CONFIG, missing_tools, open_scheduler, run_main

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.skipif(bool(missing_tools()), reason=f"{', '.join(missing_tools())} not "
                       "installed (scripts/system-deps.sh installs them)"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no {CHROMIUM}: "
                       "scripts/system-deps.sh installs Debian's chromium"),
]


def artifacts() -> Path:
    folder = Path(os.environ.get("BRIDGE_TEST_ARTIFACTS") or REPO / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def alignment_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The example run once, and its report written by `bridge report`."""
    from click.testing import CliRunner

    from bridge.cli import cli

    root = tmp_path_factory.mktemp("read_alignment_report")
    result, execution_id = run_main(root, LOCAL_CONFIG, output_path=str(root / "results"))
    with open_scheduler(root) as scheduler:
        jobs = scheduler.store.execution_graph(execution_id, with_calls=False).jobs
    report = root / "report.html"
    with contextlib.chdir(root):
        written = CliRunner().invoke(cli, ["report", execution_id, "-o", str(report)])
    assert written.exit_code == 0, written.output
    return {"root": root, "result": result, "jobs": jobs, "report": report}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright "
                                   "(the dev extra has it)")
    with sync_api.sync_playwright() as playwright:
        # Debian's chromium: Playwright's own browser download is not used
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])
        yield launched
        launched.close()


def test_the_report_opens_offline_and_traces_the_final_bam(alignment_report: dict,
                                                            browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console {message.type}: "
                                                       f"{message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(alignment_report["report"].as_uri())

    # every step of the run is a row of the steps table
    rows = page.locator("#steps tbody tr")
    shown = rows.evaluate_all("rows => rows.map(row => row.dataset.job)")
    assert sorted(shown) == sorted(job["job_id"] for job in alignment_report["jobs"])
    assert page.locator("#steps").get_by_text("mark_dups", exact=True).count() == 2
    assert page.locator("#summary").get_by_text("DONE").count() == 1

    # a script step shows its whole command
    first_dups = page.locator("#steps tbody tr[data-task='bridge.script']").first
    first_dups.click()
    assert page.locator("#details h3", has_text="Command").count() == 1

    # the final BAM of sample1: its chain goes down to the sample's FASTQ lanes
    bam = alignment_report["result"]["sample1"]["bam"].path
    page.locator("#tabs button[data-panel='files']").click()
    page.locator(f"#files tbody tr[data-path='{bam}']").click()
    chain = page.locator("#details .chain")
    chain.wait_for()
    text = chain.inner_text()
    for step in ("mark_dups", "run_bwa", "cut_adapters", "merge_fastq", "prepare_samples"):
        assert step in text, f"{step} missing from the chain:\n{text}"
    for lane in ("L001", "L002"):
        for mate in (1, 2):
            assert f"sample1_{lane}_R{mate}.fastq.gz" in text, text
    page.screenshot(path=str(artifacts() / "report-read-alignment.png"))

    # a small text output previews in place: Picard's duplicate metrics
    metrics = alignment_report["result"]["sample1"]["dup_metrics"].path
    page.locator(f"#files tbody tr[data-path='{metrics}']").click()
    assert "READ_PAIR_DUPLICATES" in page.locator("#details pre").first.inner_text()

    # the call graph is drawn inline, and its nodes open the step they stand for
    page.locator("#tabs button[data-panel='graph']").click()
    assert page.locator("#graph svg g.node").count() == len(alignment_report["jobs"])
    page.locator("#graph svg g.node").first.click()
    assert page.locator("#details h2").inner_text().startswith("Step")

    assert problems == []
    assert all(url.startswith(("file:", "data:", "about:")) for url in fetched), fetched
    page.close()
