"""The processed-data contract: `data/processed/<dataset>/{train,val,test}_{x,y}.npy` + manifest.

Images are stored as uint8 NCHW (memory-mappable); models see them as
(x - 127.5) / 127.5, exactly in [-1, 1]. Points are float32 (N, D) coordinates.
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


def load_split(dataset: str, split: str, mmap: bool = True) -> Split:
    """Load one split; arrays are memory-mapped unless `mmap` is False."""
    manifest = read_manifest(dataset)
    root = processed_dir(dataset)
    mode = "r" if mmap else None
    x_path = root / f"{split}_x.npy"
    if not x_path.exists():
        raise DataError(f"missing {x_path}: rerun `gangrid preprocess {dataset}`")
    x = np.load(x_path, mmap_mode=mode)
    y_path = root / f"{split}_y.npy"
    y = np.load(y_path, mmap_mode=mode) if y_path.exists() else None
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
