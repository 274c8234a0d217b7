"""The processed-data contract: `data/processed/<dataset>/` arrays + `manifest.json`.

Image and point sets (manifest `kind` "image" / "points"):
  `{split}_x.npy`  uint8 NCHW images, or float32 (N, D) points;
  `{split}_y.npy`  int64 labels, when the dataset has them.
Image-to-image sets (manifest `kind` "paired" / "unpaired"):
  `{split}_a.npy`  uint8 NCHW, domain A = the input (e.g. an edge map);
  `{split}_b.npy`  uint8 NCHW, domain B = the target (e.g. the photo);
  paired:   item i of `_a` and item i of `_b` are one pair; `{split}_y.npy` holds
            the pair's class label when there is one;
  unpaired: `_a` and `_b` are independent (their lengths may differ unless the
            manifest says `balanced`); `{split}_y_a.npy` / `{split}_y_b.npy` hold
            the original class labels of each domain when there are some.
  Both domains have the same (C, H, W); manifest `splits` gives {split: {a: n, b: n}}.
Splits are `train`, `val`, `test` (test = held out for metrics). Every array is
a plain .npy, memory-mappable. Models see images as (x - 127.5) / 127.5,
exactly in [-1, 1]; points are raw coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gangrid.errors import DataError
from gangrid.io import read_json

PROCESSED_DIR = Path("data/processed")
RAW_DIR = Path("data/raw")
SPLITS = ("train", "val", "test")


@dataclass
class Split:
    """One split of a processed dataset as (memory-mapped) numpy arrays."""

    kind: str
    x: np.ndarray
    y: np.ndarray | None
    meta: dict[str, Any]

    def __len__(self) -> int:
        return len(self.x)


def processed_dir(dataset: str) -> Path:
    """Where a dataset's processed arrays live."""
    return PROCESSED_DIR / dataset


def read_manifest(dataset: str) -> dict[str, Any]:
    """The processed manifest of a dataset (a DataError if preprocess has not run)."""
    path = processed_dir(dataset) / "manifest.json"
    if not path.exists():
        raise DataError(f"missing {path}: run `gangrid preprocess {dataset}` first")
    return read_json(path)


TRANSLATION_KINDS = ("paired", "unpaired")


@dataclass
class TranslationSplit:
    """One split of an image-to-image set: domain A (input) and domain B (target) images."""

    kind: str  # "paired" or "unpaired"
    a: np.ndarray
    b: np.ndarray
    y_a: np.ndarray | None
    y_b: np.ndarray | None
    meta: dict[str, Any]


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"unknown split '{split}' (known: {', '.join(SPLITS)})")


def _load(path: Path, mode: str | None, dataset: str, required: bool = True) -> np.ndarray | None:
    if not path.exists():
        if required:
            raise DataError(f"missing {path}: rerun `gangrid preprocess {dataset}`")
        return None
    return np.load(path, mmap_mode=mode, allow_pickle=False)


def load_translation(dataset: str, split: str, mmap: bool = True) -> TranslationSplit:
    """Load one split of a paired or unpaired image-to-image set (memory-mapped unless `mmap` is False)."""
    _check_split(split)
    manifest = read_manifest(dataset)
    if manifest["kind"] not in TRANSLATION_KINDS:
        raise DataError(f"dataset '{dataset}' is a {manifest['kind']} set, not an image-to-image set: use load_split")
    root, mode = processed_dir(dataset), "r" if mmap else None
    a = _load(root / f"{split}_a.npy", mode, dataset)
    b = _load(root / f"{split}_b.npy", mode, dataset)
    if manifest["kind"] == "paired":
        y_a = y_b = _load(root / f"{split}_y.npy", mode, dataset, required=False)
    else:
        y_a = _load(root / f"{split}_y_a.npy", mode, dataset, required=False)
        y_b = _load(root / f"{split}_y_b.npy", mode, dataset, required=False)
    return TranslationSplit(kind=manifest["kind"], a=a, b=b, y_a=y_a, y_b=y_b, meta=manifest.get("meta", {}))


def load_split(dataset: str, split: str, mmap: bool = True) -> Split:
    """Load one split; arrays are memory-mapped unless `mmap` is False."""
    _check_split(split)
    manifest = read_manifest(dataset)
    if manifest["kind"] in TRANSLATION_KINDS:
        raise DataError(f"dataset '{dataset}' is a {manifest['kind']} image-to-image set: use load_translation")
    root = processed_dir(dataset)
    mode = "r" if mmap else None
    x_path = root / f"{split}_x.npy"
    if not x_path.exists():
        raise DataError(f"missing {x_path}: rerun `gangrid preprocess {dataset}`")
    x = np.load(x_path, mmap_mode=mode, allow_pickle=False)
    y_path = root / f"{split}_y.npy"
    y = np.load(y_path, mmap_mode=mode, allow_pickle=False) if y_path.exists() else None
    return Split(kind=manifest["kind"], x=x, y=y, meta=manifest.get("meta", {}))


def to_model(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Model-facing float tensor: uint8 images -> (x - 127.5) / 127.5 in [-1, 1]; floats unchanged."""
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.array(x))  # copy: inputs may be read-only memmaps
    if t.dtype == torch.uint8:
        return (t.float() - 127.5) / 127.5
    return t.float()


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Quantise model-space images in [-1, 1] back to uint8 (the inverse of `to_model`)."""
    return (x.detach().float() * 127.5 + 127.5).round().clamp(0, 255).to(torch.uint8)
