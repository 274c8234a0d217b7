"""The domain classifier (train-classifier stage): accuracy floor, recorded metric, reload, augmentation."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from gangrid.classifier import ConvClassifier, NearestCentre, random_shift
from gangrid.cli import main
from gangrid.config import load_params
from gangrid.errors import UserError
from gangrid.artifacts import classifier_path
from gangrid.metrics.extractors import classifier_extractor, load_classifier
from gangrid.classifier import classifier_cfg
from gangrid.stages.data import run_download, run_preprocess, run_train_classifier

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A temp working dir with digits and ring8 downloaded and preprocessed."""
    root = tmp_path_factory.mktemp("clf")
    old = os.getcwd()
    os.chdir(root)
    params = load_params(REPO / "params.yaml")
    for name in ("digits", "ring8"):
        run_download(params, name)
        run_preprocess(params, name)
    yield root
    os.chdir(old)


@pytest.mark.slow
def test_digits_classifier_reaches_its_floor_with_default_settings(data_dir):
    params = load_params(REPO / "params.yaml")
    metrics = run_train_classifier(params, "digits")
    floor = params["eval"]["classifier"]["floor"]["digits"]
    assert floor == 0.95
    assert metrics["test_accuracy"] >= floor
    recorded = json.loads((Path("models/classifier/digits.json")).read_text())
    assert recorded["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert recorded["floor"] == floor and recorded["n_test"] > 300
    # the reloaded checkpoint is the same classifier, and an extractor: 128-d features, softmax probabilities
    model = load_classifier("digits")
    test_x = np.load("data/processed/digits/test_x.npy")
    test_y = np.load("data/processed/digits/test_y.npy")
    feats, probs = classifier_extractor("digits")(test_x)
    assert feats.shape == (len(test_x), 128) and feats.dtype == np.float64
    assert np.allclose(probs.sum(1), 1.0)
    assert np.mean(probs.argmax(1) == test_y) == pytest.approx(metrics["test_accuracy"], abs=1e-9)
    assert isinstance(model, ConvClassifier)


def test_below_floor_fails_with_one_line_and_writes_nothing(data_dir, tmp_path, capsys):
    params = load_params(REPO / "params.yaml")
    params["eval"]["classifier"].update({"epochs": 1, "floor": {"digits": 1.0}})  # the highest valid floor
    before = classifier_path("digits").read_bytes() if classifier_path("digits").exists() else None
    with pytest.raises(UserError, match=r"eval\.classifier\.floor\.digits"):
        run_train_classifier(params, "digits")
    after = classifier_path("digits").read_bytes() if classifier_path("digits").exists() else None
    assert before == after
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    assert main(["--params", str(path), "train-classifier", "digits"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: classifier for 'digits'") and "< floor 1.0" in err[0]


def test_mixture_classifier_is_the_nearest_centre(data_dir):
    params = load_params(REPO / "params.yaml")
    metrics = run_train_classifier(params, "ring8")
    assert metrics["test_accuracy"] == 1.0
    model = load_classifier("ring8")
    assert isinstance(model, NearestCentre)
    pts = np.load("data/processed/ring8/test_x.npy")[:50]
    feats, probs = classifier_extractor("ring8")(pts)
    assert np.array_equal(feats, pts.astype(np.float64))
    centers = np.asarray(json.loads(Path("data/processed/ring8/manifest.json").read_text())["meta"]["centers"])
    nearest = ((pts[:, None] - centers[None]) ** 2).sum(-1).argmin(1)
    assert np.array_equal(probs.argmax(1), nearest)


def test_per_dataset_settings_override_the_defaults():
    params = load_params(REPO / "params.yaml")
    p = copy.deepcopy(params)
    p["eval"]["classifier"]["datasets"] = {"fashion_mnist": {"epochs": 4, "batch_size": 128}}
    cfg = classifier_cfg(p, "fashion_mnist")
    assert cfg["epochs"] == 4 and cfg["batch_size"] == 128 and "datasets" not in cfg
    assert cfg["lr"] == params["eval"]["classifier"]["lr"]
    assert classifier_cfg(p, "digits")["epochs"] == params["eval"]["classifier"]["epochs"]


def test_random_shift_translates_each_image_with_black_padding():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 6, 6) * 2 - 1
    out = random_shift(x, 1, gen)
    assert out.shape == x.shape
    offsets = []
    for img, shifted in zip(x, out):
        matches = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                   if torch.equal(shifted, expected_shift(img, dy, dx))]
        assert len(matches) == 1
        offsets += matches
    assert len(set(offsets)) == 9  # an offset per image: all 9 occur among 64 images
    assert torch.equal(random_shift(x, 0, gen), x)


def expected_shift(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """img moved down by dy and right by dx, with -1 (black) where nothing comes in."""
    out = torch.full_like(img, -1.0)
    h, w = img.shape[-2:]
    src = img[..., max(0, -dy): h - max(0, dy), max(0, -dx): w - max(0, dx)]
    out[..., max(0, dy): h - max(0, -dy), max(0, dx): w - max(0, -dx)] = src
    return out
