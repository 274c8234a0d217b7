"""The domain classifier of an image-to-image set (`gangrid train-classifier <set>`): the metrics' extractor.

It is trained, like the classifier of an image set (`gangrid.classifier`), on the
labelled images of the set's *target* domains: domain B of a paired set (the
translation runs A -> B), domains A and B of an unpaired set (CycleGAN translates
both ways; on class-domain sets the classifier then tells the domains apart by class).
FID/KID of translations use its penultimate features, target-class accuracy its softmax.
Writes models/classifier/<set>.pt and .json, with the same accuracy floor as image sets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gangrid.classifier import (accuracy, classifier_arch, classifier_cfg, save_classifier, save_no_classifier,
                                train_conv_classifier)
from gangrid.data.store import Split, load_translation, read_manifest, to_model


def classifier_domains(kind: str) -> tuple[str, ...]:
    """The domains the classifier of a paired ("b") or unpaired ("a", "b") set is trained on."""
    return ("b",) if kind == "paired" else ("a", "b")


def n_classes_of(manifest: dict[str, Any], labels: np.ndarray) -> int:
    """Number of classes: the manifest's `classes` or class names, else the largest label + 1."""
    meta = manifest.get("meta", {})
    return int(meta.get("classes") or len(meta.get("class_names", [])) or int(labels.max()) + 1)


def classifier_split(dataset: str, split: str) -> Split:
    """The target-domain images of one split, as an image Split (y None when a domain has no labels)."""
    data = load_translation(dataset, split, mmap=False)
    parts = [(data.b, data.y_b) if domain == "b" else (data.a, data.y_a) for domain in classifier_domains(data.kind)]
    x = np.concatenate([np.asarray(px) for px, _ in parts])
    y = None if any(py is None for _, py in parts) else np.concatenate([np.asarray(py) for _, py in parts]).astype(np.int64)
    return Split(kind="image", x=x, y=y, meta=data.meta)


def train_translation_classifier(params: dict[str, Any], name: str) -> dict[str, float]:
    """Train the classifier of an image-to-image set; require its test accuracy >= eval.classifier.floor."""
    manifest = read_manifest(name)
    train, val, test = (classifier_split(name, s) for s in ("train", "val", "test"))
    if train.y is None:  # e.g. facades, horse2zebra: Inception features only, as for unlabelled image sets
        return save_no_classifier(params, name, len(train.x), len(test.x))
    cfg = classifier_cfg(params, name)
    n_classes = n_classes_of(manifest, train.y)
    model, metrics = train_conv_classifier(train, val, n_classes, cfg, seed=int(cfg.get("seed", 0)))
    c, h, _ = train.x.shape[1:]
    payload = {"kind": "conv", "arch": classifier_arch(c, h, n_classes, cfg), "state": model.state_dict(),
               "domains": list(classifier_domains(manifest["kind"]))}
    metrics["test_accuracy"] = accuracy(model, to_model(test.x), torch.as_tensor(test.y))
    metrics["n_train"], metrics["n_test"] = float(len(train.x)), float(len(test.x))
    return save_classifier(params, name, payload, metrics)
