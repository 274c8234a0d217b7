"""What the translation stages read from a processed image-to-image set (`gangrid.data.store`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gangrid.data.store import TRANSLATION_KINDS, TranslationSplit, load_translation, read_manifest
from gangrid.errors import ConfigError
from gangrid.nets import DataSpec


def translation_spec(dataset: str) -> DataSpec:
    """DataSpec of an image-to-image set: kind paired/unpaired, (C, H, W) of both domains, classes (0 if none)."""
    manifest = read_manifest(dataset)
    if manifest["kind"] not in TRANSLATION_KINDS:
        raise ConfigError(f"dataset '{dataset}' is a {manifest['kind']} set: a translation study needs a paired or "
                          f"unpaired image-to-image set (e.g. source edges2 or class_domains)")
    n_classes = int(manifest.get("meta", {}).get("classes", 0) or len(manifest.get("meta", {}).get("class_names", [])))
    return DataSpec(kind=manifest["kind"], shape=tuple(manifest["shape"]), n_classes=n_classes if manifest.get("labels") else 0)


def test_count(params: dict[str, Any], n_available: int) -> int:
    """How many test images of a domain are translated and evaluated: min(eval.n_samples, test size)."""
    return min(int(params["eval"]["n_samples"]), int(n_available))


def pick(n_available: int, n: int, seed: int) -> np.ndarray:
    """n sorted indices out of range(n_available), a fixed-seed subset (all of them when n >= n_available)."""
    if n >= n_available:
        return np.arange(n_available)
    return np.sort(np.random.default_rng(seed).choice(n_available, n, replace=False))


@dataclass
class TestSet:
    """The fixed test inputs of both directions: A images (with their paired B) and B images (with their paired A)."""

    a: np.ndarray
    b: np.ndarray  # paired: the targets of `a`, in the same order
    y_a: np.ndarray | None
    y_b: np.ndarray | None
    paired: bool
    meta: dict[str, Any]


def test_set(params: dict[str, Any], dataset: str, split: str = "test") -> TestSet:
    """The translated test images: min(N, test size) of each domain, a fixed-seed subset (eval.sample_seed + 1).

    Paired sets keep their pairs (one subset of indices for A and B); the domains of
    unpaired sets are subsampled independently.
    """
    data: TranslationSplit = load_translation(dataset, split)
    seed = int(params["eval"].get("sample_seed", 0)) + 1
    paired = data.kind == "paired"
    idx_a = pick(len(data.a), test_count(params, len(data.a)), seed)
    idx_b = idx_a if paired else pick(len(data.b), test_count(params, len(data.b)), seed + 1)
    take = lambda arr, idx: None if arr is None else np.asarray(arr[idx])  # noqa: E731
    return TestSet(a=take(data.a, idx_a), b=take(data.b, idx_b), y_a=take(data.y_a, idx_a), y_b=take(data.y_b, idx_b),
                   paired=paired, meta=data.meta)
