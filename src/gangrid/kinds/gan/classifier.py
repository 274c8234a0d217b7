"""The domain classifier of an image or 2-D point dataset: the metrics' feature extractor.

Images: a CNN trained on the train split (best validation epoch, gangrid.classifier). 2-D
mixtures: the nearest-centre classifier of the mixture's modes (its features are the points
themselves). Unlabelled image sets get none (Inception features only).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gangrid.classifier import (NearestCentre, accuracy, classifier_arch, classifier_cfg, save_classifier,
                                save_no_classifier, train_conv_classifier)
from gangrid.data.store import load_split, read_manifest, to_model


def train_classifier(params: dict[str, Any], name: str) -> dict[str, float]:
    """Train (images) or build (2-D mixtures) the classifier of dataset `name`; its test accuracy must reach the floor."""
    manifest = read_manifest(name)
    train, val, test = (load_split(name, s, mmap=False) for s in ("train", "val", "test"))
    if train.y is None:
        return save_no_classifier(params, name, len(train), len(test))
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
