"""script() staging from and to S3: 50 inputs and 50 outputs, beside one `aws s3 cp` and
beside redun 0.44's per-file staging, in one run.

Usage (from the repo root, after `bash bench/setup.sh` and with the dev extra installed):

    .venv/bin/python bench/bench_s3_staging.py [--files 50] [--repeat 3]

Starts a moto server on 127.0.0.1, writes --files small objects to a bucket, then times
(best of --repeat, wall clock; redun's run is slow, so best of --redun-repeat):

- `aws s3 cp` of one of them (the AWS CLI installed with bridge): the unit of the target;
- bridge staging: the script() body alone (`run_script`: stage every input in, copy
  inputs to outputs, stage every output out) in a fresh child process;
- bridge script(): the whole call, `scheduler.run(script(...))`, which also hashes the
  inputs and records the call, in a fresh child with a fresh SQLite store;
- redun script(): the same call on redun 0.44 (one `aws s3 cp` per file), likewise.

Target (issue 14): bridge's staging of all files <= 3x one `aws s3 cp`. Every child checks
that all outputs arrived. This file is stdlib-only: the redun child runs it under
.bench-venv's python.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core import PYTHONS, ROOT, log, run_script_child

BUCKET = "bench"
TARGET_RATIO = 3.0
COMMAND = "mkdir -p out && cp in/* out/"
CHILD_TIMEOUT = 900.0


def _paths(n: int, prefix: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(remote, local) pairs of the inputs, and of the outputs under ``prefix``."""
    names = [f"f{i:03d}.txt" for i in range(n)]
    inputs = [(f"s3://{BUCKET}/in/{name}", f"in/{name}") for name in names]
    outputs = [(f"s3://{BUCKET}/{prefix}/{name}", f"out/{name}") for name in names]
    return inputs, outputs


# --- child side: runs under either engine's python ---------------------------------------


def child(engine: str, n: int, prefix: str, what: str) -> dict[str, float]:
    """Seconds of a whole script() call and, for bridge, of its body alone (only that
    when ``what`` is "staging")."""
    inputs, outputs = _paths(n, prefix)
    if engine == "bridge":
        from bridge import File, Scheduler, script
        from bridge.native.script import ScriptOutputs, run_script

        def staged(pairs: list[tuple[str, str]]) -> list:
            return [File(remote).stage(local) for remote, local in pairs]

        start = time.perf_counter()
        run_script(COMMAND, staged(inputs), ScriptOutputs(staged(outputs)), tempdir=True)
        body = time.perf_counter() - start
        if what == "staging":
            return {"staging": body}
        scheduler = Scheduler(db_uri="sqlite:///bench.db")
        scheduler.store  # noqa: B018  opened before timing, as redun's load() below
        _, outputs = _paths(n, prefix + "-call")
        result = {"staging": body}
    else:
        from redun import File, Scheduler, script
        from redun.config import Config

        scheduler = Scheduler(config=Config({"backend": {"db_uri": "sqlite:///bench.db"}}))
        scheduler.load()
        result = {}
    expr = script(COMMAND, tempdir=True,
                  inputs=[File(remote).stage(local) for remote, local in inputs],
                  outputs=[File(remote).stage(local) for remote, local in outputs])
    start = time.perf_counter()
    value = scheduler.run(expr)
    result["call"] = time.perf_counter() - start
    if [file.path for file in value] != [remote for remote, _ in outputs]:
        raise AssertionError(f"wrong result: {str(value)[:80]}")
    return result


def child_main(engine: str, n: str, prefix: str, what: str, result_path: str) -> None:
    try:
        result: dict[str, object] = child(engine, int(n), prefix, what)
    except Exception as error:
        result = {"error": f"{type(error).__name__}: {error}"[:300]}
    Path(result_path).write_text(json.dumps(result))


# --- parent side --------------------------------------------------------------------------


def _aws_cp(work: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(["aws", "s3", "cp", "--only-show-errors", f"s3://{BUCKET}/in/f000.txt",
                    str(work / "one.txt")], env=env, check=True)
    return time.perf_counter() - start


def measure(n: int, repeat: int, redun_repeat: int, staging_only: bool, work: Path
            ) -> dict[str, float]:
    """Best seconds of each row, keyed by row name (redun, slow, runs --redun-repeat times)."""
    import boto3

    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    for remote, _ in _paths(n, "")[0]:
        client.put_object(Bucket=BUCKET, Key=remote.split("/", 3)[3], Body=b"acgt\n" * 40)
    tools = work / "bin"  # the AWS CLI installed with bridge, for redun's `aws s3 cp` too
    tools.mkdir()
    (tools / "aws").symlink_to(ROOT / ".venv" / "bin" / "aws")
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}
    os.environ["PATH"] = env["PATH"]  # what the children inherit
    best: dict[str, float] = {}
    engines = ["bridge"] if staging_only else ["bridge", "redun"]
    what = "staging" if staging_only else "all"

    def keep(name: str, seconds: float) -> None:
        best[name] = min(seconds, best.get(name, seconds))

    for attempt in range(repeat):
        keep("aws s3 cp, one file", _aws_cp(work, env))
        for engine in engines[:1] if attempt >= redun_repeat else engines:
            folder = work / f"{engine}-{attempt}"
            folder.mkdir()
            prefix = f"out-{engine}-{attempt}"
            found = run_script_child(__file__, engine, [str(n), prefix, what], folder,
                                     CHILD_TIMEOUT)
            if "error" in found:
                raise SystemExit(f"{engine}: {found['error']}")
            for name, seconds in found.items():
                keep(f"{engine} {name}", seconds)
            made = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")["KeyCount"]
            if made != n:
                raise SystemExit(f"{engine}: {made} of {n} outputs arrived")
            log(f"attempt {attempt + 1}: {engine} {found}")
    return best


def report(best: dict[str, float], n: int) -> str:
    unit = best["aws s3 cp, one file"]
    rows = [("aws s3 cp, one file", unit),
            (f"bridge staging, {n} in + {n} out", best["bridge staging"])]
    rows += [(f"{engine} script(), {n} in + {n} out", best[f"{engine} call"])
             for engine in ("bridge", "redun") if f"{engine} call" in best]
    lines = [f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", "",
             f"| {'what':<36} | seconds | x aws s3 cp |", f"|{'-' * 38}|--------:|------------:|"]
    lines += [f"| {what:<36} | {seconds:7.2f} | {seconds / unit:11.2f} |"
              for what, seconds in rows]
    ratio = best["bridge staging"] / unit
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    lines += ["", f"bridge staging / one aws s3 cp: {ratio:.2f} (target <= {TARGET_RATIO:.0f}): "
              f"{verdict}"]
    if "redun call" in best:
        lines.append(f"redun script() / bridge script(): "
                     f"{best['redun call'] / best['bridge call']:.1f}")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=50, help="inputs, and as many outputs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--redun-repeat", type=int, default=1,
                        help="redun's runs (some minutes each: a process per file)")
    parser.add_argument("--staging-only", action="store_true",
                        help="time bridge's staging and aws s3 cp only (an older bridge, whose"
                             " per-file staging takes minutes)")
    args = parser.parse_args()
    for engine, python in PYTHONS.items():
        if not python.exists() and not (engine == "redun" and args.staging_only):
            raise SystemExit(f"{python} is missing ({engine}): run `bash bench/setup.sh`")
    from bench_files import start_moto

    server = start_moto()
    work = Path(tempfile.mkdtemp(prefix="bridge-bench-s3-staging-"))
    try:
        best = measure(args.files, args.repeat, args.redun_repeat, args.staging_only, work)
    finally:
        server.stop()  # type: ignore[attr-defined]
        shutil.rmtree(work, ignore_errors=True)
    print(report(best, args.files))


if __name__ == "__main__":
    main()
