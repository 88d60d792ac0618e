"""Re-attaching a restarted run to the jobs an earlier run left in flight: they are found by
their job name prefix and by the call folders (or array manifest) named in their command
(Batch) or comment (SLURM), whose names are call hashes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from bridge.native.executors import batch_api
from bridge.native.executors.batch_aws import Aws
from bridge.native.executors.batch_tracking import SINGLE
from bridge.native.executors.packaging import join


def find_in_flight(aws: Aws, queue: str, prefix: str, scratch: str
                   ) -> dict[str, tuple[str, int]]:
    """Call hash -> (Batch job, array index) of the unfinished jobs of an earlier run."""
    found: dict[str, tuple[str, int]] = {}
    for job in batch_api.in_flight(aws.client("batch"), queue, prefix):
        found |= calls_named(job["jobId"], job.get("container", {}).get("command", []),
                             scratch, aws.read)
    return found


def calls_named(job_id: str, words: Iterable[str], scratch: str,
                read: Callable[[str], bytes | None]) -> dict[str, tuple[str, int]]:
    """Call hash -> (``job_id``, array index) of the calls whose folders (or whose array's
    manifest under ``scratch``) ``words`` name; ``read`` reads a manifest."""
    found: dict[str, tuple[str, int]] = {}
    calls_prefix = join(scratch, "calls", "")
    arrays_prefix = join(scratch, "arrays", "")
    for word in words:
        if word.startswith(arrays_prefix):
            manifest = json.loads(read(word) or b'{"calls": []}')
            for index, folder in enumerate(manifest["calls"]):
                found[folder.rsplit("/", 1)[1]] = (job_id, index)
        elif word.startswith(calls_prefix):
            found[word.rsplit("/", 1)[1]] = (job_id, SINGLE)
    return found
