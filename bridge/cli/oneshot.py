"""`bridge oneshot`: run one packaged call; the entry point of bridge's containers."""

from __future__ import annotations

import sys

import click


@click.command()
@click.argument("call", required=False)
@click.option("--array", "manifest", metavar="MANIFEST",
              help="Run this array child's call from an array job's manifest (JSON).")
def oneshot(call: str | None, manifest: str | None) -> None:
    """Run the call packaged in folder CALL (local or s3://) and write its output there.

    Exits 1 when the task body raised (the error is in the output), so the job fails."""
    from bridge.native.executors.packaging import run_array_member, run_packaged_call

    if (call is None) == (manifest is None):
        raise click.UsageError("give either a CALL folder or --array MANIFEST")
    code = run_packaged_call(call) if call is not None else run_array_member(manifest)
    sys.exit(code)
