#!/usr/bin/env bash
# Create the bench-only venv (<repo>/.bench-venv) holding redun 0.44.1, the engine
# bench/core.py compares bridge against. Idempotent: does nothing when redun is there.
set -euo pipefail

REDUN_VERSION="0.44.1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.bench-venv"
source "$ROOT/bench/venv.sh"

if bench_has "$VENV" "redun==$REDUN_VERSION"; then
    echo "bench: redun $REDUN_VERSION already in $VENV"
    exit 0
fi
bench_install "$VENV" "redun==$REDUN_VERSION"
echo "bench: redun $REDUN_VERSION installed in $VENV"
