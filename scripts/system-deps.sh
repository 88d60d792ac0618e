#!/usr/bin/env bash
# Installs the system packages the tests start for real (PostgreSQL; more as the
# executors and the example need them). Idempotent; needs root (apt-get, through sudo
# when it is not root) only when something is missing.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
command -v dot >/dev/null 2>&1 || need+=(graphviz)   # bridge viz
command -v tmux >/dev/null 2>&1 || need+=(tmux)       # the live-status screenshot test
[ -x /usr/bin/chromium ] || need+=(chromium)          # the report test's headless browser
# the read-alignment example's tools (Picard draws its insert-size histogram with R)
command -v bwa >/dev/null || need+=(bwa)
command -v samtools >/dev/null || need+=(samtools)
command -v cutadapt >/dev/null || need+=(cutadapt)
command -v PicardCommandLine >/dev/null || need+=(picard-tools)
command -v Rscript >/dev/null || need+=(r-base-core)
command -v curl >/dev/null || need+=(curl)            # script() stages http(s) inputs
# the docker and aws_batch executors: a Docker engine the tests start, and the static
# busybox and python3.11 that docker/make-base.sh builds the test images from
command -v dockerd >/dev/null || need+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
[ -x /usr/bin/python3.11 ] || need+=(python3.11)  # Debian's, not a pyenv shim
# the slurm executor: a single-node cluster the tests start (tests/slurm_cluster.py)
[ -x /usr/sbin/slurmctld ] || need+=(slurm-wlm)
[ -x /usr/sbin/munged ] || need+=(munge)

python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)  # make setup's venv

if ((${#need[@]})); then
    echo "installing system packages: ${need[*]}"
    as_root=()
    if [ "$(id -u)" != 0 ]; then
        if ! command -v sudo >/dev/null; then
            echo "error: these Debian packages are missing and installing them needs root:" \
                 "run 'apt-get install ${need[*]}' as root, then this again" >&2
            exit 1
        fi
        as_root=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
