# The two commands of the README:
#   make run    set up .venv, then run the default grid through DVC (ends with reports/report.md):
#               `gangrid repro -j $(JOBS)` runs JOBS `dvc repro` workers side by side (one per core by
#               default; results as a plain `dvc repro`), under a warm worker (`gangrid warm`: the stage
#               commands skip importing torch); `gangrid pipelines` first brings pipelines/<study>/dvc.yaml
#               in line with params.yaml's studies
#   make test   set up .venv and the system packages the tests use, then run the test suite
# Both are idempotent: setup reruns only when requirements.lock or pyproject.toml change.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.gangrid-installed
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
export PATH := $(BIN):$(PATH)

.PHONY: run test setup system-deps data-deps clean-outputs

run: setup data-deps
	@test -d .git || git init -q
	gangrid pipelines
	gangrid warm -- gangrid repro -j $(JOBS)

test: setup system-deps
	pytest $(PYTEST_ARGS)

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# Debian packages: Fashion-MNIST (offline data), and for the tests a minimal TeX
# (paper compile check) and slurm-wlm + munge (a real single-node SLURM cluster).
data-deps:
	@scripts/install-debian-packages.sh dataset-fashion-mnist

system-deps:
	@scripts/install-debian-packages.sh dataset-fashion-mnist texlive-latex-base texlive-latex-recommended \
		texlive-fonts-recommended lmodern slurm-wlm munge

# Remove every pipeline output (data, models, results, reports, checkpoints, logs).
clean-outputs:
	rm -rf data/raw data/processed models results reports/tables reports/figures reports/report.md reports/paper \
		reports/report.html checkpoints logs benchmarks .snakemake dvc.lock pipelines/*/dvc.lock
