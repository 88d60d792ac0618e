#!/usr/bin/env bash
# Create the bench-only venv (<repo>/.bench-venv-snakemake) holding Snakemake and its SLURM
# executor plugin, which bench/bench_slurm.py compares bridge's slurm executor against.
# A venv of its own: Snakemake's pins do not fit bridge's dev extras. Idempotent: does
# nothing when both pinned versions are there.
set -euo pipefail

SNAKEMAKE_VERSION="9.27.1"
PLUGIN_VERSION="2.8.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.bench-venv-snakemake"
UV="$ROOT/.venv/bin/uv"
WANTED=("snakemake==$SNAKEMAKE_VERSION" "snakemake-executor-plugin-slurm==$PLUGIN_VERSION")

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - <<PY 2>/dev/null; then
import importlib.metadata as m, sys
sys.exit(m.version("snakemake") != "$SNAKEMAKE_VERSION"
         or m.version("snakemake-executor-plugin-slurm") != "$PLUGIN_VERSION")
PY
    echo "bench: snakemake $SNAKEMAKE_VERSION and its slurm plugin $PLUGIN_VERSION already in $VENV"
    exit 0
fi

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"

if [ -x "$UV" ]; then
    "$UV" pip install --python "$VENV/bin/python" "${WANTED[@]}"
elif command -v uv >/dev/null; then
    uv pip install --python "$VENV/bin/python" "${WANTED[@]}"
else
    "$VENV/bin/python" -m pip install --quiet "${WANTED[@]}"
fi
echo "bench: snakemake $SNAKEMAKE_VERSION and its slurm plugin $PLUGIN_VERSION installed in $VENV"
