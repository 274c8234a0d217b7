"""Fashion-MNIST from Debian's dataset-fashion-mnist package: the real 60000/10000 images (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from gangrid.data.download import MANIFEST, download
from gangrid.data.fashion_mnist import DEBIAN_PACKAGE, debian_dir
from gangrid.data.idx import IDX_FILES, read_idx
from gangrid.data.preprocess import preprocess
from gangrid.data.store import load_split, load_translation, read_manifest, to_model

REPO = Path(__file__).resolve().parents[1]
PRESETS = yaml.safe_load((REPO / "presets/datasets.yaml").read_text())["datasets"]
DEBIAN = debian_dir()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(DEBIAN is None, reason=f"Debian package {DEBIAN_PACKAGE} is not installed "
                       f"(install it as root: sudo apt-get install {DEBIAN_PACKAGE}; `make test` does)"),
]


def test_fashion_mnist_at_28px_is_the_official_60000_10000(in_tmp):
    cfg = {"source": "fashion_mnist", "resolution": 28, "channels": 1, "split": {"val": 0.0, "seed": 0}}
    raw_dir = download("fashion_mnist", cfg)
    provenance = json.loads((raw_dir / MANIFEST).read_text())["provenance"]
    assert provenance["via"] == f"Debian package {DEBIAN_PACKAGE}"
    assert all(f["checksum"].startswith(("md5:", "content-sha256:")) for f in provenance["files"])
    preprocess("fashion_mnist", cfg)
    m = read_manifest("fashion_mnist")
    assert m["splits"] == {"train": 60000, "val": 0, "test": 10000} and m["shape"] == [1, 28, 28]
    assert m["meta"]["class_names"][7] == "Sneaker"
    train, test = load_split("fashion_mnist", "train"), load_split("fashion_mnist", "test")
    np.testing.assert_array_equal(test.x[:, 0], read_idx(DEBIAN / IDX_FILES["test_x"]))
    np.testing.assert_array_equal(train.x[:, 0], read_idx(DEBIAN / IDX_FILES["train_x"]))  # val 0: all, in order
    assert np.bincount(train.y).tolist() == [6000] * 10 and np.bincount(test.y).tolist() == [1000] * 10


def test_fashion_mnist_preset_at_32px(in_tmp):
    cfg = PRESETS["fashion_mnist"]
    assert cfg["resolution"] == 32
    download("fashion_mnist", cfg)
    preprocess("fashion_mnist", cfg)
    m = read_manifest("fashion_mnist")
    assert m["splits"] == {"train": 54000, "val": 6000, "test": 10000} and m["shape"] == [1, 32, 32]
    train, val, test = (load_split("fashion_mnist", s) for s in ("train", "val", "test"))
    assert train.x.dtype == np.uint8 and train.x.shape == (54000, 1, 32, 32) and test.x.shape == (10000, 1, 32, 32)
    assert (np.bincount(train.y) + np.bincount(val.y)).tolist() == [6000] * 10  # val carved from the official train
    v = to_model(test.x)
    assert v.min() == -1.0 and v.max() <= 1.0 and v.dtype.is_floating_point


def test_sneakers2sandals_preset_is_balanced(in_tmp):
    cfg = PRESETS["sneakers2sandals"]
    download("sneakers2sandals", cfg)
    preprocess("sneakers2sandals", cfg)
    m = read_manifest("sneakers2sandals")
    assert m["splits"] == {"train": {"a": 5400, "b": 5400}, "val": {"a": 600, "b": 600}, "test": {"a": 1000, "b": 1000}}
    test = load_translation("sneakers2sandals", "test")
    assert (test.y_a == 7).all() and (test.y_b == 5).all() and test.a.shape == (1000, 1, 32, 32)
