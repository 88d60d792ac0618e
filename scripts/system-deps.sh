#!/usr/bin/env bash
# Installs the system packages the tests start for real (PostgreSQL; more as the
# executors and the example need them). Idempotent; needs root (apt-get) only when
# something is missing.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)

if ((${#need[@]})); then
    echo "installing system packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
