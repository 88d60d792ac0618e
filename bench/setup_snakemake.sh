#!/usr/bin/env bash
# Create the bench-only venv (<repo>/.bench-venv-snakemake) holding Snakemake and its SLURM
# executor plugin, which bench/bench_slurm.py compares bridge's slurm executor against.
# A venv of its own: Snakemake's pins do not fit bridge's dev extras. Idempotent: does
# nothing when both pinned versions are there.
set -euo pipefail

PINS=("snakemake==9.27.1" "snakemake-executor-plugin-slurm==2.8.0")
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.bench-venv-snakemake"
source "$ROOT/bench/venv.sh"

if bench_has "$VENV" "${PINS[@]}"; then
    echo "bench: ${PINS[*]} already in $VENV"
    exit 0
fi
bench_install "$VENV" "${PINS[@]}"
echo "bench: ${PINS[*]} installed in $VENV"
