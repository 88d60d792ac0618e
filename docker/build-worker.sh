#!/usr/bin/env bash
# Build the worker image from docker/Dockerfile:
#
#   docker/build-worker.sh [--base IMAGE] [--no-bridge] TAG
#
# Installs bridge[aws] from this checkout (or, with --no-bridge, only the AWS CLI, for
# script-only images) into a temporary build context for CPython 3.11 on Linux, then
# runs `docker build`. Set PIP_INDEX_URL (or uv's settings) to use a private index.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="python:3.11-slim"
packages=("$root[aws]")
while [ $# -gt 1 ]; do
    case "$1" in
        --base) base="$2"; shift 2 ;;
        --no-bridge) packages=(awscli); shift ;;
        *) echo "build-worker.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
tag="${1:?usage: build-worker.sh [--base IMAGE] [--no-bridge] TAG}"

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
uv="$root/.venv/bin/uv"
[ -x "$uv" ] || uv="$(command -v uv)"
"$uv" pip install --quiet --target "$context/site-packages" --python-version 3.11 \
    --python-platform x86_64-manylinux_2_28 "${packages[@]}"
rm -rf "$context/site-packages/bin"
mkdir "$context/bin"
printf '#!/bin/sh\nexec python3 -m awscli "$@"\n' > "$context/bin/aws"
if [ "${packages[0]}" != awscli ]; then
    printf '#!/bin/sh\nexec python3 -c %s "$@"\n' \
        "'import sys; from bridge.cli import main; sys.argv[0] = \"bridge\"; main()'" \
        > "$context/bin/bridge"
fi
chmod +x "$context"/bin/*
cp "$root/docker/Dockerfile" "$context/"
docker build --quiet --build-arg "BASE=$base" -t "$tag" "$context" >/dev/null
echo "$tag"
