# The two commands of the README:
#   make run    set up .venv and the system packages the pipeline uses, then run the default grid through DVC
#               (ends with reports/report.md, report.html, index.html and paper/main.pdf):
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

.PHONY: run test setup system-deps data-deps tex-deps clean-outputs

run: setup data-deps tex-deps
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

# Debian packages: Fashion-MNIST (offline data) and a minimal TeX (the report stage compiles
# reports/paper/main.pdf when pdflatex is on PATH); for the tests also slurm-wlm + munge (a real
# single-node SLURM cluster) and chromium (the browser test of reports/index.html, through Playwright).
TEX := texlive-latex-base texlive-latex-recommended texlive-fonts-recommended lmodern

data-deps:
	@scripts/install-debian-packages.sh dataset-fashion-mnist

tex-deps:
	@scripts/install-debian-packages.sh $(TEX)

system-deps:
	@scripts/install-debian-packages.sh dataset-fashion-mnist $(TEX) slurm-wlm munge chromium

# Remove every pipeline output (data, models, results, reports, checkpoints, logs).
clean-outputs:
	rm -rf data/raw data/processed models results reports/tables reports/figures reports/report.md reports/paper \
		reports/report.html reports/index.html reports/browse checkpoints logs benchmarks .snakemake dvc.lock \
		pipelines/*/dvc.lock
