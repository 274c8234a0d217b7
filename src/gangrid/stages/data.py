"""The `download`, `preprocess` and `train-classifier` stages of one dataset."""

from __future__ import annotations

from typing import Any

from gangrid.data.download import download
from gangrid.data.preprocess import preprocess
from gangrid.data.store import read_manifest
from gangrid.errors import ConfigError
from gangrid.kinds import get_kind, owner_of


def dataset_cfg(params: dict[str, Any], name: str) -> dict[str, Any]:
    """params `datasets.<name>`, or a ConfigError listing the known datasets."""
    try:
        return params["datasets"][name]
    except KeyError:
        raise ConfigError(f"datasets: unknown dataset '{name}' (known: {', '.join(params['datasets'])})") from None


def run_download(params: dict[str, Any], name: str) -> None:
    """Fetch raw files of dataset `name` into data/raw/<name>/."""
    download(name, dataset_cfg(params, name))


def run_preprocess(params: dict[str, Any], name: str) -> None:
    """Build data/processed/<name>/ from its raw files."""
    preprocess(name, dataset_cfg(params, name))


def run_train_classifier(params: dict[str, Any], name: str) -> dict[str, float]:
    """Train (or build) the domain classifier of a dataset, by the study kind that owns its data kind.

    Writes models/classifier/<name>.pt and models/classifier/<name>.json (test and val
    accuracy, the floor, sizes: a DVC metric); below the floor (`eval.classifier.floor`)
    nothing is written and the stage fails with one line.
    """
    dataset_cfg(params, name)
    return get_kind(owner_of(read_manifest(name)["kind"]).name).train_classifier(params, name)
