"""The domain classifier of an image or 2-D point dataset: the metrics' feature extractor.

Images: a CNN trained on the train split (best validation epoch, gangrid.classifier). 2-D
mixtures: the nearest-centre classifier of the mixture's modes (its features are the points
themselves). Unlabelled image sets get none (Inception features only).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gangrid.classifier import NearestCentre, accuracy, fit_image_classifier, save_classifier, save_no_classifier
from gangrid.data.store import load_split, read_manifest, to_model


def train_classifier(params: dict[str, Any], name: str) -> dict[str, float]:
    """Train (images) or build (2-D mixtures) the classifier of dataset `name`; its test accuracy must reach the floor."""
    manifest = read_manifest(name)
    train, val, test = (load_split(name, s, mmap=False) for s in ("train", "val", "test"))
    if train.y is None:
        return save_no_classifier(params, name, len(train), len(test))
    if manifest["kind"] != "points":
        n_classes = int(manifest["meta"].get("classes", int(np.max(train.y)) + 1))
        return fit_image_classifier(params, name, train, val, test, n_classes)
    model = NearestCentre(torch.tensor(manifest["meta"]["centers"], dtype=torch.float64))
    payload = {"kind": "nearest_centre", "state": model.state_dict()}
    metrics = {"val_accuracy": accuracy(model, to_model(val.x), torch.as_tensor(np.asarray(val.y)))}
    metrics["test_accuracy"] = accuracy(model, to_model(test.x), torch.as_tensor(np.asarray(test.y)))
    metrics["n_train"], metrics["n_test"] = float(len(train)), float(len(test))
    return save_classifier(params, name, payload, metrics)
