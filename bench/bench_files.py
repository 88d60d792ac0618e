"""Cost of hashing and staging files, per file, beside plain boto3 / stdlib doing the same.

Usage (from the repo root, with the dev extra installed):

    .venv/bin/python bench/bench_files.py [--files 1000] [--size 1024]

Makes N small files locally and in a bucket on a moto server started here on 127.0.0.1,
then times, for the same files in the same run:

- hash: ``File(path).hash`` per file (locally a stat and, the first time a small file is
  seen in the process, a read and a sha256 of it; a HEAD on S3), ``Dir(path).hash`` (one
  listing), against ``os.stat`` (plus the read and sha256 for the first look) /
  ``client.head_object``;
- stage: ``File(remote).stage(local).stage()`` per file, against ``shutil.copyfile`` /
  ``client.download_file``;
- copy within S3: ``File.copy_to`` against ``client.copy``;
- script() staging from S3: the shell lines script() runs (one ``aws s3 cp`` per file, a
  process start each), on the first --script-files files, against ``client.download_file``.

Numbers are µs per file (best of --repeat). moto answers from memory on this machine, so
the S3 rows measure bridge's overhead over boto3, not network time.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _best(repeat: int, run: Callable[[int], None]) -> float:
    """Fastest of `repeat` timed runs; `run(attempt)` lets each use fresh targets."""
    times = []
    for attempt in range(repeat):
        start = time.perf_counter()
        run(attempt)
        times.append(time.perf_counter() - start)
    return min(times)


def _stat_and_sha256(path: str) -> str:
    os.stat(path)
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def start_moto() -> object:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    return server


def _script_staging(s3_paths: list[str], work: Path) -> float:
    """Seconds per file for the stage-in lines script() writes, run by bash."""
    from bridge import File

    lines = [File(p).stage(f"in/{i}").shell_stage() for i, p in enumerate(s3_paths)]
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    start = time.perf_counter()
    subprocess.run(["bash", "-euc", "\n".join(lines)], cwd=work, env=env, check=True)
    return (time.perf_counter() - start) / len(s3_paths)


def measure(n: int, size: int, repeat: int, work: Path, script_files: int
            ) -> list[tuple[str, float, float]]:
    """(what, bridge seconds, baseline seconds) rows."""
    import boto3

    from bridge import Dir, File

    payload = os.urandom(size)
    src = work / "src"
    src.mkdir()
    names = [f"f{i:05d}.bin" for i in range(n)]
    for name in names:
        (src / name).write_bytes(payload)
    local_paths = [str(src / name) for name in names]

    client = boto3.client("s3")
    client.create_bucket(Bucket="bench")
    keys = [f"data/{name}" for name in names]
    for key in keys:
        client.put_object(Bucket="bench", Key=key, Body=payload)
    s3_paths = [f"s3://bench/{key}" for key in keys]

    def dest(kind: str, attempt: int) -> Path:
        folder = work / f"{kind}-{attempt}"
        folder.mkdir(exist_ok=True)
        return folder

    # Fresh copies per attempt, so each File.hash is a first look (nothing remembered).
    fresh = [[shutil.copy(p, work / f"fresh-{k}-{i}") for i, p in enumerate(local_paths)]
             for k in range(2 * repeat)]

    rows = [
        (
            "local hash, first look (File.hash vs stat + read + sha256)",
            _best(repeat, lambda k: [File(p).hash for p in fresh[k]]),
            _best(repeat, lambda k: [_stat_and_sha256(p) for p in fresh[repeat + k]]),
        ),
        (
            "local hash, again (File.hash vs os.stat)",
            _best(repeat, lambda _: [File(p).hash for p in local_paths]),
            _best(repeat, lambda _: [os.stat(p) for p in local_paths]),
        ),
        (
            'local hash, identity="stat" (vs os.stat)',
            _best(repeat, lambda _: [File(p, identity="stat").hash for p in local_paths]),
            _best(repeat, lambda _: [os.stat(p) for p in local_paths]),
        ),
        (
            "local Dir hash (vs os.walk + stat)",
            _best(repeat, lambda _: Dir(src).hash),
            _best(
                repeat,
                lambda _: [os.stat(os.path.join(r, f)) for r, _d, fs in os.walk(src) for f in fs],
            ),
        ),
        (
            "local stage (vs shutil.copyfile)",
            _best(
                repeat,
                lambda a: [
                    File(p).stage(str(dest("ls", a) / name)).stage()
                    for p, name in zip(local_paths, names, strict=True)
                ],
            ),
            _best(
                repeat,
                lambda a: [
                    shutil.copyfile(p, dest("lc", a) / name)
                    for p, name in zip(local_paths, names, strict=True)
                ],
            ),
        ),
        (
            "S3 hash (File.hash vs head_object)",
            _best(repeat, lambda _: [File(p).hash for p in s3_paths]),
            _best(repeat, lambda _: [client.head_object(Bucket="bench", Key=k) for k in keys]),
        ),
        (
            "S3 Dir hash (vs list_objects_v2 pages)",
            _best(repeat, lambda _: Dir("s3://bench/data").hash),
            _best(
                repeat,
                lambda _: list(
                    client.get_paginator("list_objects_v2").paginate(Bucket="bench", Prefix="data/")
                ),
            ),
        ),
        (
            "S3 stage to local (vs download_file)",
            _best(
                repeat,
                lambda a: [
                    File(p).stage(str(dest("ss", a) / name)).stage()
                    for p, name in zip(s3_paths, names, strict=True)
                ],
            ),
            _best(
                repeat,
                lambda a: [
                    client.download_file("bench", k, str(dest("sc", a) / name))
                    for k, name in zip(keys, names, strict=True)
                ],
            ),
        ),
        (
            "S3 copy within S3 (File.copy_to vs client.copy)",
            _best(
                repeat,
                lambda a: [
                    File(p).copy_to(f"s3://bench/b{a}/{name}")
                    for p, name in zip(s3_paths, names, strict=True)
                ],
            ),
            _best(
                repeat,
                lambda a: [
                    client.copy({"Bucket": "bench", "Key": k}, "bench", f"c{a}/{name}")
                    for k, name in zip(keys, names, strict=True)
                ],
            ),
        ),
    ]
    # script() starts one AWS CLI process per staged S3 file: too slow for all n files, so
    # time a few and scale to n.
    few = min(script_files, n)
    rows.append((
        f"S3 script() stage-in (aws s3 cp, {few} files)",
        n * min(_script_staging(s3_paths[:few], dest("sh", a)) for a in range(repeat)),
        _best(repeat, lambda a: [client.download_file("bench", k, str(dest("sd", a) / name))
                                 for k, name in zip(keys, names, strict=True)]),
    ))
    return rows


def report(rows: list[tuple[str, float, float]], n: int) -> str:
    lines = [
        f"files: {n}",
        "",
        f"| {'what':<48} | bridge µs/file | baseline µs/file | ratio |",
        f"|{'-' * 50}|---------------:|-----------------:|------:|",
    ]
    for what, ours, base in rows:
        lines.append(
            f"| {what:<48} | {ours / n * 1e6:14.1f} | {base / n * 1e6:16.1f} | {ours / base:5.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size", type=int, default=1024, help="bytes per file")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--script-files", type=int, default=20,
                        help="files staged the way script() does (a process each)")
    args = parser.parse_args()
    server = start_moto()
    try:
        with tempfile.TemporaryDirectory(prefix="bridge-bench-files-") as work:
            rows = measure(args.files, args.size, args.repeat, Path(work), args.script_files)
    finally:
        server.stop()  # type: ignore[attr-defined]
    print(report(rows, args.files))


if __name__ == "__main__":
    main()
