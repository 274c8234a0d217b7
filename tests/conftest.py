"""Shared fixtures: the repository root, params, and tiny temp copies of the pipeline."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml

from gangrid.config import load_params

REPO = Path(__file__).resolve().parents[1]
# tests call gangrid.cli.main in-process (and patch modules first): a warm worker must not run them
os.environ.pop("GANGRID_WORKER", None)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture()
def params() -> dict:
    """A fresh copy of the repository's params.yaml."""
    return copy.deepcopy(load_params(REPO / "params.yaml"))


@pytest.fixture()
def in_tmp(tmp_path, monkeypatch) -> Path:
    """Run the test with the working directory in a fresh temp dir."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_params(path: Path, params: dict) -> Path:
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path
