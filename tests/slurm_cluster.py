"""A private single-node SLURM cluster (munged, slurmctld, slurmd from Debian's slurm-wlm
and munge) with its own slurm.conf, state and ports in a temp folder: used by the tests'
`slurm_cluster` fixture and by bench/bench_slurm.py.

Tuned for throughput on one small machine: the node advertises more CPUs than the machine
has (``config_overrides``), so many one-CPU jobs run at once, and the scheduler runs as
soon as a job arrives (``sched_min_interval=0``), not once a second. Accounting is off:
a finished job's state stays in ``scontrol show job`` for ``MinJobAge`` seconds. A job
that asks for no memory gets ``DefMemPerCPU``, not the whole node's (which would run one
job at a time).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pg_cluster import free_port

NODE_CPUS = 32
MIN_JOB_AGE = 600  # seconds a finished job stays visible to scontrol
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")


class SlurmMissing(RuntimeError):
    """SLURM or munge is not installed, or this user cannot start them."""


@dataclass(frozen=True)
class SlurmCluster:
    folder: Path
    conf: Path
    node: str
    partition: str

    @property
    def env(self) -> dict[str, str]:
        """What every SLURM client command needs to find this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def run(self, *argv: str) -> str:
        """A client command's stdout (raises on a non-zero exit)."""
        return subprocess.run(argv, env={**os.environ, **self.env}, check=True,
                              capture_output=True, text=True).stdout

    def log_tail(self, lines: int = 20) -> str:
        """The daemons' last log lines, to explain a job that failed to launch."""
        parts = []
        for name in ("slurmctld.log", "slurmd.log"):
            path = self.folder / name
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            parts.append(f"--- {name}\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)


@contextmanager
def slurm_cluster(partition: str = "debug") -> Iterator[SlurmCluster]:
    """Start munged (if not running), slurmctld and slurmd; yield the cluster; cancel its
    jobs and stop it on exit. Raises SlurmMissing when it cannot start."""
    for program in ("slurmctld", "slurmd", "munged", "sbatch"):
        if shutil.which(program) is None and not Path(f"/usr/sbin/{program}").exists():
            raise SlurmMissing(f"{program} is not installed (scripts/system-deps.sh installs "
                               "slurm-wlm and munge)")
    if os.geteuid() != 0:
        raise SlurmMissing("starting slurmd needs root")
    _start_munged()
    folder = Path(tempfile.mkdtemp(prefix="bridge-slurm-"))
    node = socket.gethostname().split(".")[0]
    conf = folder / "slurm.conf"
    conf.write_text(_slurm_conf(folder, node, partition))
    for sub in ("state", "spool"):
        (folder / sub).mkdir()
    cluster = SlurmCluster(folder, conf, node, partition)
    env = {**os.environ, **cluster.env}
    daemons = []
    try:
        for daemon in ("slurmctld", "slurmd"):
            log = open(folder / f"{daemon}.out", "wb")  # noqa: SIM115 (the daemon keeps it)
            daemons.append(subprocess.Popen(
                [_sbin(daemon), "-D", "-f", str(conf)], env=env, stdout=log, stderr=log,
                start_new_session=True,
            ))
        _wait_until_idle(cluster, daemons)
        yield cluster
    finally:
        _cancel_all(env, partition)
        for process in reversed(daemons):
            process.terminate()
        for process in reversed(daemons):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _cancel_all(env: dict[str, str], partition: str, timeout: float = 20) -> None:
    """Cancel every job and wait until none runs: a job's slurmstepd outlives a stopped
    slurmd, and ignores SIGTERM."""
    subprocess.run(["scancel", "--full", f"--partition={partition}"], env=env,
                   capture_output=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = subprocess.run(["squeue", "-h", "-t", "pending,running,completing,suspended",
                               "-o", "%i"], env=env, capture_output=True, text=True)
        if left.returncode != 0 or not left.stdout.strip():
            return
        time.sleep(0.2)


def _sbin(program: str) -> str:
    return shutil.which(program) or f"/usr/sbin/{program}"


def _start_munged() -> None:
    """munged as the munge user, once per machine (every cluster shares it)."""
    if MUNGE_SOCKET.exists() and subprocess.run(
        ["munge", "-n"], capture_output=True
    ).returncode == 0:
        return
    MUNGE_SOCKET.parent.mkdir(parents=True, exist_ok=True)
    shutil.chown(MUNGE_SOCKET.parent, "munge", "munge")
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        subprocess.run(["runuser", "-u", "munge", "--", "mungekey", "--create"], check=True,
                       capture_output=True)
    started = subprocess.run(["runuser", "-u", "munge", "--", _sbin("munged")],
                             capture_output=True, text=True)
    if started.returncode != 0:
        raise SlurmMissing(f"munged did not start: {started.stderr.strip()}")


def _slurm_conf(folder: Path, node: str, partition: str) -> str:
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return f"""\
ClusterName=bridgetest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=100
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge={MIN_JOB_AGE}
MaxJobCount=100000
MaxArraySize=100001
ReturnToService=2
MpiDefault=none
NodeName={node} NodeAddr=127.0.0.1 CPUs={NODE_CPUS} RealMemory={memory_mb} State=UNKNOWN
PartitionName={partition} Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


def _wait_until_idle(cluster: SlurmCluster, daemons: list[subprocess.Popen],
                     timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in daemons:
            if process.poll() is not None:
                raise SlurmMissing(f"{process.args[0]} exited {process.returncode}:\n"
                                   + cluster.log_tail())
        states = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True,
                                text=True, env={**os.environ, **cluster.env})
        if states.returncode == 0 and states.stdout.split() == ["idle"]:
            return
        time.sleep(0.2)
    raise SlurmMissing("the SLURM node did not become idle within "
                       f"{timeout:.0f} s:\n" + cluster.log_tail())
