"""Submitting bursts of calls to AWS Batch (see :class:`JobSubmitter`): each call is
packaged in its folder under the S3 scratch prefix, the workflow's code as an archive
beside them, and an array's calls listed in a manifest."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bridge.native.executors import batch_api, batch_request
from bridge.native.executors.base import Report, Work
from bridge.native.executors.batch_aws import Aws
from bridge.native.executors.batch_reattach import find_in_flight
from bridge.native.executors.job_submit import JobSubmitter
from bridge.native.executors.job_tracking import SINGLE, Call, Tracker
from bridge.native.executors.packaging import (
    INPUT,
    OUTPUT,
    code_archive,
    code_root,
    join,
    pack_call,
)


class Submitter(JobSubmitter):
    """Submits the calls of an executor (``options``) under ``scratch``, naming its jobs
    with ``prefix``."""

    service = "AWS Batch"
    max_array = batch_api.MAX_ARRAY_SIZE

    def __init__(self, options: dict[str, Any], scratch: str, prefix: str, *, aws: Aws,
                 tracker: Tracker, io: ThreadPoolExecutor, report: Report) -> None:
        super().__init__(scratch, tracker=tracker, report=report)
        self.options = options
        self.prefix = prefix
        self.aws = aws
        self.io = io
        self._lock = threading.Lock()
        self._definitions: dict[tuple, str] = {}
        self._code: dict[str, str] = {}

    def find_in_flight(self) -> dict[str, tuple[str, int]]:
        return find_in_flight(self.aws, self.options["queue"], self.prefix, self.scratch)

    def job_options(self, work: Work) -> dict[str, Any]:
        return batch_request.job_options(self.options, work)

    def submit_group(self, options: dict[str, Any], calls: list[Call]) -> None:
        """Package ``calls`` (which agree on their job's ``options``) and submit them as
        one job (an array when more than one)."""
        code = None if options["script"] else self._code_url(calls[0].work.task)
        list(self.io.map(lambda call: self._package(call, code, options), calls))
        # outputs of an earlier run of the same call must not pass for this run's
        self.aws.delete([join(c.folder, name) for c in calls for name in (OUTPUT, "stdout")])
        array = len(calls) > 1
        target = self._manifest(calls) if array else calls[0].folder
        request = batch_request.submit_request(
            batch_api.job_name(self.prefix, options["task"]), options, self.options,
            definition=self._definition(options["image"], options["role"]),
            environment=self.aws.job_environment(
                bool(self.options.get("pass_aws_credentials"))),
            command=batch_request.command(options["script"], target, array),
            size=len(calls))
        batch_id = self.aws.client("batch").submit_job(**request)["jobId"]
        self.tracker.track(batch_id, {index if array else SINGLE: call.key
                                      for index, call in enumerate(calls)})

    def _manifest(self, calls: list[Call]) -> str:
        """An array job's list of call folders, from which each child picks its own."""
        url = join(self.scratch, "arrays", f"{uuid.uuid4().hex}.json")
        self.aws.write(url, json.dumps({"calls": [c.folder for c in calls]}).encode())
        return url

    def _package(self, call: Call, code: str | None, options: dict[str, Any]) -> None:
        """Write the call's input to its folder (``code``: the workflow's archive, which
        the calls of a group share and which is uploaded before them, once; ``options``:
        the group's job options, whose share a script exports)."""
        if call.work.is_script:
            from bridge.native.script import prepare_script

            self.aws.write(join(call.folder, "script.sh"),
                           prepare_script(**call.work.kwargs, options=options).encode())
        else:
            self.aws.write(join(call.folder, INPUT), pack_call(call.work, code))

    def _code_url(self, task: Any) -> str | None:
        """The workflow's code as an archive under the scratch prefix, uploaded once."""
        root = code_root(task)
        if root is None:
            return None
        with self._lock:
            if root in self._code:
                return self._code[root]
        digest, data = code_archive(root)
        url = join(self.scratch, "code", f"{digest}.tar.gz")
        self.aws.write_once(url, data)
        with self._lock:
            self._code[root] = url
        return url

    def _definition(self, image: str, role: str | None) -> str:
        """The job definition's ARN for this image and role, registered once."""
        with self._lock:
            arn = self._definitions.get((image, role))
        if arn is None:
            arn = batch_api.job_definition(self.aws.client("batch"), self.prefix, image, role)
            with self._lock:
                self._definitions[(image, role)] = arn
        return arn
