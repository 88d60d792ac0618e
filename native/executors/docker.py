"""The docker executor: each call runs in a container of a configured image.

Python tasks run as ``bridge oneshot /bridge/job`` (the image needs bridge), with the
workflow's code mounted read-only at ``/bridge/code`` and the working directory mounted
at its own path, so relative and local paths mean the same inside. ``script()`` calls
run their prepared bash script directly, so their image needs bash and the tools the
script calls, not bridge.

Options (``[executors.NAME]`` or per task): ``image``, ``memory`` (GiB), ``vcpus``,
``gpus``, ``scratch`` (host folder for job files), ``include_code``, ``network``
(docker network mode, e.g. ``host``), ``max_workers``, ``pass_aws_credentials``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from bridge.native.executors.base import Executor, Report, Work
from bridge.native.executors.packaging import (
    INPUT,
    code_root,
    pack_call,
    read_outcome,
    with_log_tail,
)
from bridge.native.runner import Outcome, RemoteError

JOB_MOUNT = "/bridge/job"
CODE_MOUNT = "/bridge/code"
LOG_TAIL_LINES = 40


def private_scratch(executor: str) -> str:
    """The default scratch folder: this user's own, in the temp folder. Job folders hold
    the pickles a run loads back (a call's output), and the temp folder is everyone's: a
    folder someone else made or may write into there could hand this run code to run."""
    folder = os.path.join(tempfile.gettempdir(), f"bridge-docker-{os.getuid()}")
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    info = os.lstat(folder)
    if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid()
            or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        raise PermissionError(
            f"executor {executor}: the docker scratch folder {folder} is not this user's "
            f"private folder (owner uid {info.st_uid}, mode {stat.filemode(info.st_mode)}); "
            "jobs load pickles from it, so nobody else may write there: remove it, or set "
            f"`scratch` in [executors.{executor}] of bridge.ini to a folder of your own")
    return folder


class DockerExecutor(Executor):
    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        if not options.get("image"):
            raise ValueError(f"executor {name}: the docker executor needs an image")
        workers = int(options.get("max_workers") or os.cpu_count() or 2)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=f"bridge-{name}")
        self._futures: dict[str, Future] = {}
        self._running: dict[str, Any] = {}  # job id -> container
        self._lock = threading.Lock()
        self._client: Any = None
        self._report: Report | None = None
        self._scratch: str | None = options.get("scratch")

    @property
    def client(self) -> Any:
        if self._client is None:
            import docker

            self._client = docker.from_env()
        return self._client

    def start(self, report: Report) -> None:
        self._report = report

    def submit(self, work: Work) -> None:
        future = self._pool.submit(self._run, work)
        with self._lock:
            self._futures[work.job_id] = future
        future.add_done_callback(lambda _, job_id=work.job_id: self._forget(job_id))

    def _forget(self, job_id: str) -> None:
        with self._lock:
            self._futures.pop(job_id, None)

    def _run(self, work: Work) -> None:
        assert self._report is not None
        try:
            outcome = self._run_container(work)
        except BaseException as error:  # the engine or the image is at fault, not the body
            outcome = Outcome(work.job_id, False, error=error, traceback=repr(error))
        self._report(outcome)

    def _run_container(self, work: Work) -> Outcome:
        options = {**self.options, **work.options}
        if self._scratch is None:
            self._scratch = private_scratch(self.name)
        job_dir = os.path.join(self._scratch, f"{work.call_hash[:16]}-{work.job_id[:8]}")
        os.makedirs(job_dir, exist_ok=True)
        volumes = {job_dir: {"bind": JOB_MOUNT, "mode": "rw"}}
        for folder in _host_folders(work):
            volumes.setdefault(folder, {"bind": folder, "mode": "rw"})
        if work.is_script:
            from bridge.native.script import prepare_script

            with open(os.path.join(job_dir, "script.sh"), "w") as handle:
                handle.write(prepare_script(**work.kwargs, options=options))
            os.makedirs(os.path.join(job_dir, "work"), exist_ok=True)
            command = ["bash", "-euo", "pipefail", f"{JOB_MOUNT}/script.sh"]
            workdir = f"{JOB_MOUNT}/work"
        else:
            root = code_root(work.task) if options.get("include_code", True) else None
            if root is not None:
                volumes[root] = {"bind": CODE_MOUNT, "mode": "ro"}
            with open(os.path.join(job_dir, INPUT), "wb") as handle:
                handle.write(pack_call(work, CODE_MOUNT if root else None))
            command = ["bridge", "oneshot", JOB_MOUNT]
            workdir = os.getcwd()
        exit_code, stdout, log = self._container(work.job_id, options, command, workdir, volumes)
        with open(os.path.join(job_dir, "log.txt"), "w") as handle:
            handle.write(log)
        tail = "\n".join(log.splitlines()[-LOG_TAIL_LINES:])
        where = f"the container's log ({job_dir}/log.txt)"
        if work.is_script:
            outcome = _script_outcome(work, exit_code, stdout, tail, job_dir)
        else:
            outcome = read_outcome(job_dir, work.job_id) or Outcome(
                work.job_id, False, error=RemoteError(
                    f"the container of {work.task.fullname} exited with code {exit_code} "
                    "without writing its output"))
            outcome = with_log_tail(outcome, where, tail) if not outcome.ok else outcome
        if outcome.ok:
            shutil.rmtree(job_dir, ignore_errors=True)
        return outcome

    def _container(self, job_id: str, options: dict, command: list[str], workdir: str,
                   volumes: dict) -> tuple[int, str, str]:
        """Run a container to its end: (exit code, stdout, stdout and stderr)."""
        kwargs: dict[str, Any] = {
            "image": options["image"], "command": command, "working_dir": workdir,
            "volumes": volumes,
            "environment": _aws_environment(bool(options.get("pass_aws_credentials"))),
            "user": f"{os.getuid()}:{os.getgid()}", "detach": True,
        }
        if options.get("memory"):
            kwargs["mem_limit"] = f"{int(float(options['memory']) * 1024)}m"
        if options.get("vcpus"):
            kwargs["nano_cpus"] = int(float(options["vcpus"]) * 1e9)
        if options.get("gpus"):
            import docker

            kwargs["device_requests"] = [docker.types.DeviceRequest(
                count=int(options["gpus"]), capabilities=[["gpu"]])]
        if options.get("network"):
            kwargs["network_mode"] = options["network"]
        container = self.client.containers.run(**kwargs)
        with self._lock:
            self._running[job_id] = container
        try:
            exit_code = int(container.wait()["StatusCode"])
            stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
            log = container.logs(stdout=True, stderr=True).decode(errors="replace")
        finally:
            with self._lock:
                self._running.pop(job_id, None)
            container.remove(force=True)
        return exit_code, stdout, log

    def cancel_pending(self) -> list[str]:
        with self._lock:
            futures = list(self._futures.items())
        return [job_id for job_id, future in futures if future.cancel()]

    def stop(self) -> None:
        """Containers still running at this point were interrupted (Ctrl+C): kill them."""
        self.cancel_pending()
        with self._lock:
            running = list(self._running.values())
        for container in running:
            with contextlib.suppress(Exception):  # it ended meanwhile
                container.kill()
        self._pool.shutdown(wait=True)


def _script_outcome(work: Work, exit_code: int, stdout: str, tail: str, job_dir: str) -> Outcome:
    from bridge.native.script import MISSING_OUTPUT_EXIT, ScriptError, finish_script

    if exit_code == 0:
        return Outcome(work.job_id, True, value=finish_script(work.kwargs["outputs"], stdout))
    if exit_code == MISSING_OUTPUT_EXIT:
        message = f"script did not write its output(s) (job folder kept at {job_dir})\n{tail}"
    else:
        message = (f"script exited with code {exit_code} (job folder kept at {job_dir})\n"
                   f"log tail:\n{tail}")
    return Outcome(work.job_id, False, error=ScriptError(message, exit_code, job_dir))


def _host_folders(work: Work) -> list[str]:
    """Host folders the container must see at the same path: the working directory and
    the local folders a script stages files from and to."""
    from bridge.native.script import iter_staging

    folders = [os.getcwd()]
    if work.is_script:

        for staging in iter_staging([work.kwargs.get("inputs"), work.kwargs.get("outputs")]):
            path = staging.remote.path
            if "://" not in path:
                folder = os.path.dirname(os.path.abspath(path))
                os.makedirs(folder, exist_ok=True)
                folders.append(folder)
    kept: list[str] = []
    for folder in sorted(set(folders)):
        if not any(folder == k or folder.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(folder)
    return kept


def _aws_environment(pass_credentials: bool) -> dict[str, str]:
    """The AWS settings of this process, so tasks reach the same S3 (or moto): the region
    and endpoints; every ``AWS_*`` variable, credentials included, only on opt-in."""
    return {key: value for key, value in os.environ.items() if key.startswith("AWS_") and (
        pass_credentials or key in ("AWS_REGION", "AWS_DEFAULT_REGION")
        or key.startswith("AWS_ENDPOINT_URL"))}
