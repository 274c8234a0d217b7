"""Feature extractors for the metrics: the pipeline's domain classifier (always available offline).

An extractor maps samples (uint8 NCHW images or float (N, D) points) to
(float64 features, class probabilities or None). The Inception-V3 extractor
lives in `gangrid.metrics.inception`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from gangrid.artifacts import classifier_path
from gangrid.classifier import ConvClassifier, NearestCentre
from gangrid.data.store import to_model
from gangrid.errors import DataError
from gangrid.io import load_torch

Extractor = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]


def load_classifier(dataset: str) -> nn.Module | None:
    """Rebuild the trained classifier of a dataset from its checkpoint (weights_only); None for an unlabelled set."""
    path = classifier_path(dataset)
    if not path.exists():
        raise DataError(f"missing {path}: run `gangrid train-classifier {dataset}` first")
    payload = load_torch(path)
    if payload["kind"] == "none":
        return None
    if payload["kind"] == "nearest_centre":
        model: nn.Module = NearestCentre(payload["state"]["centers"])
    else:
        model = ConvClassifier(**payload["arch"])
    model.load_state_dict(payload["state"])
    return model.eval()


def model_extractor(model: nn.Module, batch: int = 500) -> Extractor:
    """Wrap a classifier as an extractor: penultimate features and softmax probabilities, as float64."""

    @torch.no_grad()
    def extract(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        model.eval()
        feats, probs = [], []
        for i in range(0, len(x), batch):
            f = model.features(to_model(np.asarray(x[i : i + batch])))
            feats.append(f.double().numpy())
            probs.append(torch.softmax(model.head(f).double(), 1).numpy())
        if not feats:
            return np.zeros((0, 1)), None
        return np.concatenate(feats), np.concatenate(probs)

    return extract


def classifier_extractor(dataset: str) -> Extractor | None:
    """The extractor backed by the dataset's trained domain classifier (None: unlabelled set, no classifier)."""
    model = load_classifier(dataset)
    return None if model is None else model_extractor(model)
