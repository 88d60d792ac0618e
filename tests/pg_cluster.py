"""A private PostgreSQL cluster (initdb + pg_ctl) on a free loopback port, and fresh
databases on it: used by the tests' `postgres_uri` fixture and by bench/bench_store_load.py.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PostgresMissing(RuntimeError):
    """initdb or pg_ctl is not installed."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster (user ``bridge``, trust auth), yield the URI of its ``postgres``
    database, stop and delete it on exit. Raises PostgresMissing without the binaries."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise PostgresMissing("PostgreSQL is not installed (scripts/system-deps.sh installs it)")
    # Outside pytest's root-only temp folder, so the postgres user can reach it.
    data = Path(tempfile.mkdtemp(prefix="bridge-pg-")) / "data"
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(data.parent, "postgres")
    port = free_port()
    subprocess.run([*prefix, initdb, "-D", str(data), "-U", "bridge", "--auth=trust",
                    "-E", "UTF8"], check=True, capture_output=True)
    log = data.parent / "pg.log"
    subprocess.run(
        [*prefix, pg_ctl, "-D", str(data), "-l", str(log), "-w", "-o",
         f"-p {port} -k {data.parent} -c listen_addresses=127.0.0.1", "start"],
        check=True, capture_output=True,
    )
    try:
        _wait_for_port(port)
        yield f"postgresql://bridge@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(data.parent, ignore_errors=True)


def _wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL did not listen on port {port}")


def fresh_database(server_uri: str, prefix: str = "bridge") -> str:
    """Create an empty database on the server of ``server_uri``; its URI."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_uri, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_uri.rsplit("/", 1)[0] + "/" + name
