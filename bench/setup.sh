#!/usr/bin/env bash
# Create the bench-only venv (<repo>/.bench-venv) holding redun 0.44.1, the engine
# bench/core.py compares bridge against. Idempotent: does nothing when redun is there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/venv.sh"
bench_setup "$ROOT/.bench-venv" "redun==0.44.1"
