"""Copy many files between S3 and local disk in one process: script()'s S3 staging.

This file is not imported by bridge: :func:`bridge.native.script.prepare_script` puts its
text in the job's bash script, which runs it as

    python3 - down|up EXIT MESSAGE SOURCE TARGET [SOURCE TARGET ...]

on the machine that runs the job (here, or in a container without bridge). ``down`` copies
each ``s3://`` SOURCE to a local TARGET, ``up`` each local SOURCE to an ``s3://`` TARGET,
all at once through s3transfer. It needs only python3 (3.8 or later) with botocore and
s3transfer, which boto3 and the pip-installed AWS CLI (v1) both bring; without them it exits
with :data:`NO_STAGER_EXIT` and the script falls back to one ``aws s3 cp`` per file. Every
copy that fails is named on stderr by MESSAGE (a ``str.format`` text with the fields
``remote`` and ``local``) followed by the error, and then it exits with EXIT.
"""

import os
import sys

NO_STAGER_EXIT = 96
CONCURRENCY = 16


def main(argv):
    try:
        _find_botocore()
        import botocore.config
        import botocore.session
        from s3transfer.manager import TransferConfig, TransferManager
    except ImportError:
        return NO_STAGER_EXIT
    direction, fail_exit, message = argv[0], int(argv[1]), argv[2]
    pairs = [(argv[i], argv[i + 1]) for i in range(3, len(argv) - 1, 2)]
    client = botocore.session.get_session().create_client(
        "s3", config=botocore.config.Config(max_pool_connections=CONCURRENCY))
    config = TransferConfig(max_request_concurrency=CONCURRENCY)
    failed = []
    with TransferManager(client, config) as manager:
        started = []
        for source, target in pairs:
            try:
                started.append((source, target, _start(manager, direction, source, target)))
            except OSError as error:
                failed.append((source, target, error))
        for source, target, future in started:
            try:
                future.result()
            except Exception as error:
                failed.append((source, target, error))
    for source, target, error in failed:
        remote, local = (source, target) if direction == "down" else (target, source)
        print("bridge: " + message.format(remote=remote, local=local), file=sys.stderr)
        print("  " + str(error), file=sys.stderr)
    return fail_exit if failed else 0


def _find_botocore():
    """Make botocore importable: installed on its own (boto3 brings it), or the copy that
    recent AWS CLI v1 releases carry inside the awscli package, which importing awscli
    makes importable as botocore and s3transfer."""
    try:
        import botocore  # noqa: F401
    except ImportError:
        import awscli  # noqa: F401


def _start(manager, direction, source, target):
    if direction == "down":
        bucket, key = _split(source)
        parent = os.path.dirname(target)
        if parent:
            os.makedirs(parent, exist_ok=True)
        return manager.download(bucket, key, target)
    bucket, key = _split(target)
    return manager.upload(source, bucket, key)


def _split(path):
    bucket, _, key = path[len("s3://"):].partition("/")
    return bucket, key


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
