"""Re-attaching a restarted run to the Batch jobs an earlier run left in flight: they are
found by their job name prefix and by the call folders (or array manifest) named in their
command (:func:`~bridge.native.executors.job_submit.calls_named`)."""

from __future__ import annotations

from bridge.native.executors import batch_api
from bridge.native.executors.batch_aws import Aws
from bridge.native.executors.job_submit import calls_named


def find_in_flight(aws: Aws, queue: str, prefix: str, scratch: str
                   ) -> dict[str, tuple[str, int]]:
    """Call hash -> (Batch job, array index) of the unfinished jobs of an earlier run."""
    found: dict[str, tuple[str, int]] = {}
    for job in batch_api.in_flight(aws.client("batch"), queue, prefix):
        found |= calls_named(job["jobId"], job.get("container", {}).get("command", []),
                             scratch, aws.read)
    return found
