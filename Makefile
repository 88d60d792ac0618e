# `make demo` and `make test` work on a fresh machine: they create the venv and install
# what they need first.
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv

.PHONY: setup system-deps test lint demo bench bench-slurm bench-read-alignment clean

# system packages first: Debian's python3 needs python3-venv before it can make the venv
setup: system-deps $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q uv
	$(UV) pip install -q --python $(PY) -e '.[dev,prefect]'
	touch $@

system-deps:
	bash scripts/system-deps.sh

lint: setup
	$(VENV)/bin/ruff check .

test: setup lint
	$(PY) -m pytest -q

# The read-alignment example on its synthetic data, on the local executor; run it again
# and every step is replayed from the cache.
demo: setup
	cd examples/read_alignment && ../../$(VENV)/bin/bridge run workflow.py main

bench: setup
	bash bench/setup.sh
	$(PY) bench/core.py

# bridge's slurm executor against Snakemake's SLURM plugin on a private cluster (as root,
# after system-deps); Snakemake lives in a venv of its own.
bench-slurm: setup
	bash bench/setup_snakemake.sh
	$(PY) bench/bench_slurm.py

# The read-alignment example beside the same pipeline in Snakemake (bench/read_alignment/):
# a first run, a no-op, an edited and a touched input, a deleted intermediate, a pinned edit.
bench-read-alignment: setup
	bash bench/setup_snakemake.sh
	$(PY) bench/bench_read_alignment.py

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) .bench-venv .bench-venv-snakemake .pytest_cache .ruff_cache

# Airflow lives in its own venv: its FastAPI pin does not fit Prefect's. The tests drive it
# through subprocesses (.venv-airflow/bin/python), so `make test` builds it first.
AIRFLOW_VENV ?= .venv-airflow

test: $(AIRFLOW_VENV)/.installed

$(AIRFLOW_VENV)/.installed: pyproject.toml $(VENV)/.installed
	python3 -m venv $(AIRFLOW_VENV)
	$(UV) pip install -q --python $(AIRFLOW_VENV)/bin/python -e '.[airflow,postgres]'
	touch $@
