"""scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes), fully offline."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from gangrid.data import SOURCES, RawDataset
from gangrid.errors import DataError
from gangrid.io import sha256_file

# sha256 of sklearn/datasets/data/digits.csv.gz as shipped by scikit-learn 1.x.
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
FILE_NAME = "digits.csv.gz"


def bundled_digits_path() -> Path:
    """Where scikit-learn keeps its copy of the digits file."""
    import sklearn.datasets

    return Path(sklearn.datasets.__file__).parent / "data" / FILE_NAME


@SOURCES.register("digits")
class Digits:
    """Copies the bundled CSV (checksummed) and reads it as uint8 images scaled 0..16 -> 0..255."""

    kind = "image"
    native = {"resolution": 8, "channels": 1, "classes": 10}
    options: dict[str, str] = {}

    def fetch(self, cfg: dict[str, Any], raw_dir: Path) -> dict[str, Any]:
        src = bundled_digits_path()
        if not src.exists():
            raise DataError(f"scikit-learn's digits file is missing: {src}")
        digest = sha256_file(src)
        if digest != DIGITS_SHA256:
            raise DataError(f"{src}: sha256 {digest} does not match the expected {DIGITS_SHA256}")
        shutil.copyfile(src, raw_dir / FILE_NAME)
        return {"copied_from": "scikit-learn bundled digits.csv.gz"}

    def read(self, cfg: dict[str, Any], raw_dir: Path) -> RawDataset:
        with gzip.open(raw_dir / FILE_NAME, "rt") as fh:
            table = np.loadtxt(fh, delimiter=",", dtype=np.float64)
        pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
        images = np.rint(pixels * (255.0 / 16.0)).astype(np.uint8).reshape(-1, 8, 8, 1)
        return RawDataset(kind="image", x=images, y=labels, meta={"classes": 10, "class_names": [str(d) for d in range(10)]})
