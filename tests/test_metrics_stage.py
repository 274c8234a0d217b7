"""The evaluate / evaluate-real stages: metrics.json content, protocol block, determinism, Inception paths."""

from __future__ import annotations

import copy
import json
import os
import socket
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from gangrid.config import load_params
from gangrid.metrics import inception as inception_mod
from gangrid.stages.data import run_download, run_preprocess, run_train_classifier
from gangrid.artifacts import real_metrics_path
from gangrid.kinds.gan.evaluation import evaluate_samples
from gangrid.stages.evaluate import evaluate_real
from inception_util import write_stand_in

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A temp working dir with digits and ring8 processed and their classifiers (a quick one for digits)."""
    root = tmp_path_factory.mktemp("eval")
    old = os.getcwd()
    os.chdir(root)
    params = load_params(REPO / "params.yaml")
    params["eval"].update({"n_samples": 300, "kid_subsets": 4, "kid_subset_size": 100})
    params["eval"]["classifier"].update({"epochs": 3, "floor": {"default": 0.0}})
    for name in ("digits", "ring8"):
        run_download(params, name)
        run_preprocess(params, name)
        run_train_classifier(params, name)
    yield root, params
    os.chdir(old)


@pytest.fixture()
def no_network(monkeypatch):
    """Fail the test on any attempt to open a connection or a URL."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def test_evaluate_real_writes_metrics_and_protocol(workspace):
    root, params = workspace
    out = evaluate_real(params, "digits")
    on_disk = json.loads(real_metrics_path("digits").read_text())
    assert on_disk == out
    for name in ("fid300_clf", "kid300_clf", "kid300_clf_std", "precision300_clf", "recall300_clf",
                 "density300_clf", "coverage300_clf", "is300_clf", "is300_clf_std", "class_modes", "class_kl"):
        assert isinstance(out[name], float), name
    proto = out["protocol"]
    assert proto["extractor"] == "classifier" and "clf" in proto["extractors"]
    assert (proto["n"], proto["n_fake"], proto["n_real"]) == (300, 300, 300)  # the reference: 300 of the test split
    assert (proto["pr_k"], proto["dc_k"], proto["kid_subsets"], proto["is_splits"]) == (3, 5, 4, 10)
    # real training digits vs real test digits: all classes present, a confident classifier, good precision/recall
    assert out["class_modes"] == 10.0 and out["class_kl"] < 0.05
    assert 1.0 < out["is300_clf"] <= 10.0  # IS lies in [1, C]
    assert out["precision300_clf"] > 0.6 and out["recall300_clf"] > 0.6
    assert not any("time" in key or "second" in key for key in out)


def test_metrics_json_is_byte_deterministic(workspace):
    root, params = workspace
    evaluate_real(params, "digits")
    first = real_metrics_path("digits").read_bytes()
    real_metrics_path("digits").unlink()
    evaluate_real(params, "digits")
    assert real_metrics_path("digits").read_bytes() == first
    values = json.loads(first)
    assert list(values) == sorted(values)
    assert all(float(f"{v:.6g}") == v for v in values.values() if isinstance(v, float))


def test_evaluate_real_mixture_covers_all_modes(workspace):
    root, params = workspace
    out = evaluate_real(params, "ring8")
    assert out["modes"] == 8.0 and out["modes_total"] == 8.0
    assert out["hq_pct"] == pytest.approx(100 * (1 - np.exp(-4.5)), abs=2.0)  # P(|z| <= 3 std) in 2-D
    assert out["mode_kl"] < 0.05
    assert out["protocol"]["hq_std"] == 3.0
    assert "is300_clf" not in out and "class_modes" not in out


def test_collapsed_generator_scores_worse_than_real(workspace):
    root, params = workspace
    test_x = np.load("data/processed/digits/test_x.npy")
    train_x = np.load("data/processed/digits/train_x.npy")
    labels = np.load("data/processed/digits/train_y.npy")
    collapsed = np.repeat(train_x[labels == 3][:30], 10, axis=0)  # one class only
    real = evaluate_samples(params, "digits", train_x[:300], test_x)
    bad = evaluate_samples(params, "digits", collapsed, test_x)
    assert bad["class_modes"] == 1.0 and bad["class_kl"] == pytest.approx(np.log(10), rel=0.05)
    assert bad["fid300_clf"] > 5 * real["fid300_clf"]
    assert bad["kid300_clf"] > real["kid300_clf"]
    assert bad["recall300_clf"] < real["recall300_clf"] and bad["coverage300_clf"] < real["coverage300_clf"]
    assert bad["is300_clf"] < 1.5 < real["is300_clf"]


def test_optional_fid_infinity_metric(workspace):
    root, params = workspace
    p = copy.deepcopy(params)
    p["eval"]["metrics"] = ["fid", "fid_inf"]
    test_x = np.load("data/processed/digits/test_x.npy")
    out = evaluate_samples(p, "digits", np.load("data/processed/digits/train_x.npy")[:300], test_x)
    assert set(k for k in out if k.startswith("fid")) == {"fid300_clf", "fid300_clf_inf"}
    assert out["fid300_clf_inf"] < out["fid300_clf"]  # FID_N is biased upwards at finite N
    assert "kid300_clf" not in out and "pr_k" not in out["protocol"]


# ---- Inception through clean-fid ---------------------------------------------------------------------

@pytest.fixture()
def stand_in_weights(tmp_path) -> Path:
    return write_stand_in(tmp_path / "weights")


def grey_images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 1, 16, 16), dtype=np.uint8)


@pytest.mark.parametrize("mode", ["clean", "legacy_tensorflow"])
def test_inception_extractor_equals_cleanfid_pipeline(stand_in_weights, tmp_path, mode, no_network):
    """Our features = clean-fid's own folder pipeline (its resizer, loader and InceptionV3W) on the same network."""
    from cleanfid.fid import get_folder_features
    from cleanfid.inception_torchscript import InceptionV3W

    images = grey_images(12)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, img in enumerate(images):
        np.save(folder / f"img_{i:03d}.npy", np.repeat(img, 3, axis=0).transpose(1, 2, 0))  # HWC RGB, as clean-fid reads
    model = InceptionV3W(str(stand_in_weights.parent), download=False, resize_inside=mode == "legacy_tensorflow")
    ref = get_folder_features(str(folder), model, num_workers=0, batch_size=5, device=torch.device("cpu"),
                              mode=mode, verbose=False)
    feats, probs = inception_mod.inception_extractor(stand_in_weights, mode, "cpu", batch=4)(images)
    assert probs.shape == (12, 1008) and np.allclose(probs.sum(1), 1.0)
    assert feats.shape == (12, 2048) and feats.dtype == np.float64
    assert np.allclose(feats, ref, rtol=1e-5, atol=1e-6)


def test_missing_inception_weights_are_reported_unavailable_without_download(workspace, tmp_path, monkeypatch, capsys, no_network):
    root, params = workspace
    monkeypatch.setattr(inception_mod, "cleanfid_cache_dir", lambda: tmp_path / "cache")
    p = copy.deepcopy(params)
    p["eval"]["extractor"] = "inception"
    p["eval"]["inception"]["weights"] = str(tmp_path / "nowhere.pt")
    assert inception_mod.find_weights(p["eval"]) is None
    test_x = np.load("data/processed/digits/test_x.npy")
    out = evaluate_samples(p, "digits", test_x[:200], test_x)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Inception metrics unavailable" in err[0] and "nowhere.pt" in err[0]
    assert "nowhere.pt" in out["protocol"]["unavailable"]["incep"]
    assert not any(k.endswith("_incep") for k in out)
    assert "fid200_clf" in out  # the classifier metrics are still there (200 vs 200: the sizes compared)


def test_inception_metrics_with_weights_present(workspace, stand_in_weights, no_network):
    root, params = workspace
    p = copy.deepcopy(params)
    p["eval"].update({"extractor": "inception", "device": "cpu"})
    p["eval"]["inception"]["weights"] = str(stand_in_weights.parent)  # a folder holding the file also works
    test_x = np.load("data/processed/digits/test_x.npy")
    out = evaluate_samples(p, "digits", np.load("data/processed/digits/train_x.npy")[:150], test_x)
    for name in ("fid150_incep", "kid150_incep", "precision150_incep", "coverage150_incep", "is150_incep"):
        assert name in out  # 150 generated vs 150 test images compared
    assert out["is150_incep"] > 1.0
    assert out["class_modes"] <= 10  # the classifier's digit classes, never Inception's 1008
    assert "incep" in out["protocol"]["extractors"] and "unavailable" not in out["protocol"]


def test_unlabelled_dataset_uses_inception_only(workspace, stand_in_weights, tmp_path, monkeypatch, no_network):
    """No labels: train-classifier needs eval.extractor inception and writes a 'none' classifier; evaluate then
    reports Inception metrics only, or fails with one line naming both missing extractors."""
    import shutil

    from gangrid.errors import UserError

    root, params = workspace
    src, dst = Path("data/processed/digits"), Path("data/processed/unlabelled")
    shutil.copytree(src, dst, dirs_exist_ok=True)
    for f in dst.glob("*_y.npy"):
        f.unlink()
    p = copy.deepcopy(params)
    p["datasets"]["unlabelled"] = copy.deepcopy(p["datasets"]["digits"])
    with pytest.raises(UserError, match="has no labels"):
        run_train_classifier(p, "unlabelled")
    p["eval"].update({"extractor": "inception", "device": "cpu", "metrics": ["fid", "is", "class_modes"]})
    assert run_train_classifier(p, "unlabelled")["labelled"] == 0.0
    test_x = np.load(dst / "test_x.npy")
    monkeypatch.setattr(inception_mod, "cleanfid_cache_dir", lambda: tmp_path / "cache")
    p["eval"]["inception"]["weights"] = str(tmp_path / "missing.pt")
    with pytest.raises(UserError, match="no feature extractor for 'unlabelled'.*missing.pt"):
        evaluate_samples(p, "unlabelled", test_x[:100], test_x)
    p["eval"]["inception"]["weights"] = str(stand_in_weights)
    out = evaluate_samples(p, "unlabelled", test_x[:100], test_x)
    # no classes of its own, so no class histogram; IS from Inception's own classes
    assert [k for k in out if k not in ("status", "protocol")] == ["fid100_incep", "is100_incep", "is100_incep_std"]
    assert list(out["protocol"]["extractors"]) == ["incep"]

