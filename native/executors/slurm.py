"""The slurm executor: each call runs as a SLURM job on a filesystem the nodes share.

A call is packaged in the scratch folder (see :mod:`slurm_submit`) and run on a node by
``bridge oneshot`` (a ``script()`` call by bash, with no bridge on the node); a burst of
calls of one task with the same options is one job array. One ``squeue`` a tick polls every
job (:mod:`slurm_poll`); a restarted run re-attaches to the jobs an earlier one left in
flight; ``stop()`` with jobs in flight (Ctrl+C) cancels them with ``scancel``.
"""

from __future__ import annotations

import logging
from typing import Any

from bridge.native.executors import slurm_commands
from bridge.native.executors.job_queue import JobQueueExecutor
from bridge.native.executors.job_tracking import Job
from bridge.native.executors.slurm_options import SlurmConfigError, check_executor
from bridge.native.executors.slurm_poll import Poller
from bridge.native.executors.slurm_submit import SlurmSubmitter

log = logging.getLogger("bridge.slurm")


class SlurmExecutor(JobQueueExecutor):
    where = "its nodes have no bridge"

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        checked = check_executor(name, options)
        super().__init__(name, checked)
        try:
            self.submitter = SlurmSubmitter(checked, tracker=self._tracker,
                                             report=self._emit)
        except OSError as error:
            raise SlurmConfigError(
                f"[executors.{name}] scratch: cannot make the folder {checked['scratch']} "
                f"({error.strerror}): give a folder you can write to on the filesystem the "
                "nodes share") from None
        self.poller = Poller(name, checked["scratch"], checked["poll_interval"],
                              tracker=self._tracker, report=self._emit,
                              stopping=self._stopping)

    def end_jobs(self, jobs: list[Job]) -> None:
        ids = [job.batch_id for job in jobs]
        try:
            slurm_commands.cancel(ids)
        except slurm_commands.SlurmError as error:
            log.warning("executor %s could not cancel its SLURM jobs %s: %s (cancel them with "
                        "scancel)", self.name, " ".join(ids), error)
