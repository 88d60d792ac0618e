"""`bridge oneshot`: run one packaged call; the entry point of bridge's containers."""

from __future__ import annotations

import sys

import click

from bridge.cli.common import UserError


@click.command()
@click.argument("call", required=False)
@click.option("--array", "manifest", metavar="MANIFEST",
              help="Run this array child's call from an array job's manifest (JSON).")
def oneshot(call: str | None, manifest: str | None) -> None:
    """Run the call packaged in folder CALL (local or s3://) and write its output there.

    Exits 1 when the task body raised (the error is in the output), so the job fails."""
    from bridge.native.executors.packaging import (
        array_index,
        run_array_member,
        run_packaged_call,
    )

    if (call is None) == (manifest is None):
        raise click.UsageError("give either a CALL folder or --array MANIFEST")
    try:
        index = array_index() if manifest is not None else None
    except RuntimeError as error:  # --array outside an array job
        raise UserError(str(error)) from None
    try:
        code = run_packaged_call(call) if call is not None else \
            run_array_member(manifest, index)
    except FileNotFoundError as error:
        raise UserError(f"no packaged call at {call or manifest}: {error.filename or error} "
                        "is missing") from None
    sys.exit(code)
