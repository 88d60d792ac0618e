# Sourced by bench/setup*.sh, which set ROOT (the repo root): the bench-only venvs.

# bench_has VENV NAME==VERSION...: VENV exists and holds each pinned version.
bench_has() {
    local venv="$1"
    shift
    [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$@" 2>/dev/null <<'PY'
import importlib.metadata as metadata, sys
pins = (arg.split("==") for arg in sys.argv[1:])
sys.exit(any(metadata.version(name) != version for name, version in pins))
PY
}

# bench_install VENV REQUIREMENT...: create VENV if need be and install into it, with
# .venv's uv, else uv on PATH, else pip.
bench_install() {
    local venv="$1"
    shift
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    if [ -x "$ROOT/.venv/bin/uv" ]; then
        "$ROOT/.venv/bin/uv" pip install --python "$venv/bin/python" "$@"
    elif command -v uv >/dev/null; then
        uv pip install --python "$venv/bin/python" "$@"
    else
        "$venv/bin/python" -m pip install --quiet "$@"
    fi
}

# bench_setup VENV NAME==VERSION...: make sure VENV holds the pinned versions (idempotent).
bench_setup() {
    local venv="$1"
    shift
    if bench_has "$venv" "$@"; then
        echo "bench: $* already in $venv"
    else
        bench_install "$venv" "$@"
        echo "bench: $* installed in $venv"
    fi
}
