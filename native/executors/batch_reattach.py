"""Re-attaching a restarted run to the Batch jobs an earlier run left in flight: they are
found by their job name prefix and by the call folders (or array manifest) in their
command, whose names are call hashes."""

from __future__ import annotations

import json

from bridge.native.executors import batch_api
from bridge.native.executors.batch_aws import Aws
from bridge.native.executors.batch_tracking import SINGLE
from bridge.native.executors.packaging import join


def find_in_flight(aws: Aws, queue: str, prefix: str, scratch: str
                   ) -> dict[str, tuple[str, int]]:
    """Call hash -> (Batch job, array index) of the unfinished jobs of an earlier run."""
    found: dict[str, tuple[str, int]] = {}
    calls_prefix = join(scratch, "calls", "")
    arrays_prefix = join(scratch, "arrays", "")
    for job in batch_api.in_flight(aws.client("batch"), queue, prefix):
        for arg in job.get("container", {}).get("command", []):
            if arg.startswith(arrays_prefix):
                manifest = json.loads(aws.read(arg) or b'{"calls": []}')
                for index, folder in enumerate(manifest["calls"]):
                    found[folder.rsplit("/", 1)[1]] = (job["jobId"], index)
            elif arg.startswith(calls_prefix):
                found[arg.rsplit("/", 1)[1]] = (job["jobId"], SINGLE)
    return found
