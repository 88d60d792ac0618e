#!/usr/bin/env bash
# Create the bench-only venv (<repo>/.bench-venv) holding redun 0.44.1, the engine
# bench/core.py compares bridge against. Idempotent: does nothing when redun is there.
set -euo pipefail

REDUN_VERSION="0.44.1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.bench-venv"
UV="$ROOT/.venv/bin/uv"

if [ -x "$VENV/bin/python" ] &&
    "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('redun') != '$REDUN_VERSION')" 2>/dev/null; then
    echo "bench: redun $REDUN_VERSION already in $VENV"
    exit 0
fi

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"

if [ -x "$UV" ]; then
    "$UV" pip install --python "$VENV/bin/python" "redun==$REDUN_VERSION"
elif command -v uv >/dev/null; then
    uv pip install --python "$VENV/bin/python" "redun==$REDUN_VERSION"
else
    "$VENV/bin/python" -m pip install --quiet "redun==$REDUN_VERSION"
fi
echo "bench: redun $REDUN_VERSION installed in $VENV"
