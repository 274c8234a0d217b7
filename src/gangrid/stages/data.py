"""The `download`, `preprocess` and `train-classifier` stages of one dataset."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gangrid.classifier import NearestCentre, accuracy, classifier_arch, train_conv_classifier
from gangrid.data.download import download
from gangrid.data.preprocess import preprocess
from gangrid.data.store import load_split, read_manifest, to_model
from gangrid.errors import ConfigError, UserError
from gangrid.io import save_torch, write_json
from gangrid.metrics.extractors import CLASSIFIER_DIR, classifier_path


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


def classifier_floor(params: dict[str, Any], name: str) -> float:
    """The minimum test accuracy required of a dataset's classifier (eval.classifier.floor.<name>, else .default)."""
    floors = params["eval"].get("classifier", {}).get("floor", {})
    return float(floors.get(name, floors.get("default", 0.0)))


def classifier_cfg(params: dict[str, Any], name: str) -> dict[str, Any]:
    """eval.classifier settings for dataset `name`: the defaults overlaid with eval.classifier.datasets.<name>."""
    cfg = dict(params["eval"].get("classifier", {}))
    overrides = cfg.pop("datasets", None) or {}
    cfg.update(overrides.get(name) or {})
    return cfg


def run_train_classifier(params: dict[str, Any], name: str) -> dict[str, float]:
    """Train (images) or build (2-D mixtures) the domain classifier; require its test accuracy >= the floor.

    Writes models/classifier/<name>.pt and models/classifier/<name>.json (test and
    val accuracy, the floor, sizes: a DVC metric); below the floor nothing is
    written and the stage fails with one line.
    """
    dataset_cfg(params, name)
    manifest = read_manifest(name)
    if manifest["kind"] in ("paired", "unpaired"):  # image-to-image sets: classifier of the target domain(s)
        from gangrid.translation.classifier import run_train_translation_classifier

        return run_train_translation_classifier(params, name)
    train, val, test = (load_split(name, s, mmap=False) for s in ("train", "val", "test"))
    if train.y is None:
        if str(params["eval"].get("extractor", "classifier")) != "inception":
            raise UserError(f"dataset '{name}' has no labels: the classifier extractor needs labels (use eval.extractor: inception)")
        save_torch(classifier_path(name), {"kind": "none"})  # no classifier: Inception features only
        sizes = {"labelled": 0.0, "n_train": float(len(train)), "n_test": float(len(test))}
        write_json(CLASSIFIER_DIR / f"{name}.json", sizes)
        return sizes
    cfg = classifier_cfg(params, name)
    if manifest["kind"] == "points":
        model = NearestCentre(torch.tensor(manifest["meta"]["centers"], dtype=torch.float64))
        payload = {"kind": "nearest_centre", "state": model.state_dict()}
        metrics = {"val_accuracy": accuracy(model, to_model(val.x), torch.as_tensor(np.asarray(val.y)))}
    else:
        n_classes = int(manifest["meta"].get("classes", int(np.max(train.y)) + 1))
        model, metrics = train_conv_classifier(train, val, n_classes, cfg, seed=int(cfg.get("seed", 0)))
        c, h, _ = train.x.shape[1:]
        payload = {"kind": "conv", "arch": classifier_arch(c, h, n_classes, cfg), "state": model.state_dict()}
    metrics["test_accuracy"] = accuracy(model, to_model(test.x), torch.as_tensor(np.asarray(test.y)))
    metrics["n_train"], metrics["n_test"] = float(len(train)), float(len(test))
    return save_classifier(params, name, payload, metrics)


def save_classifier(params: dict[str, Any], name: str, payload: dict[str, Any], metrics: dict[str, float]) -> dict[str, float]:
    """Check a trained classifier's test accuracy against its floor, then write models/classifier/<name>.{pt,json}."""
    metrics["floor"] = classifier_floor(params, name)
    if metrics["test_accuracy"] < metrics["floor"]:
        raise UserError(
            f"classifier for '{name}' reached test accuracy {metrics['test_accuracy']:.4f} < floor {metrics['floor']} "
            f"(eval.classifier.floor.{name}); train it longer (eval.classifier.epochs) or check the data"
        )
    save_torch(classifier_path(name), payload)
    write_json(CLASSIFIER_DIR / f"{name}.json", {k: round(float(v), 6) for k, v in metrics.items()})
    return metrics
