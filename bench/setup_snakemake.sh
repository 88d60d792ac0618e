#!/usr/bin/env bash
# Create the bench-only venv (<repo>/.bench-venv-snakemake) holding Snakemake and its SLURM
# executor plugin, which bench/bench_slurm.py compares bridge's slurm executor against.
# A venv of its own: Snakemake's pins do not fit bridge's dev extras. Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/venv.sh"
bench_setup "$ROOT/.bench-venv-snakemake" "snakemake==9.27.1" \
    "snakemake-executor-plugin-slurm==2.8.0"
