"""Inception metrics against the reference implementations, and the fetch-inception stage (a stand-in network:
tests never download)."""

from __future__ import annotations

import hashlib
import json
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gangrid.errors import DataError
from gangrid.metrics import EvalContext, compute_metrics
from gangrid.metrics import inception as inception_mod
from gangrid.metrics import inception_weights as weights_mod
from gangrid.metrics.inception_score import inception_score
from inception_util import WEIGHTS_FILE, write_stand_in


@pytest.fixture()
def stand_in(tmp_path) -> Path:
    return write_stand_in(tmp_path / "weights")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def images(n: int, seed: int, shift: int = 0) -> np.ndarray:
    """n RGB uint8 16x16 images (NCHW); `shift` moves their distribution."""
    x = np.random.default_rng(seed).integers(0, 200, (n, 3, 16, 16)) + shift
    return np.clip(x, 0, 255).astype(np.uint8)


def save_folder(folder: Path, x: np.ndarray) -> Path:
    folder.mkdir(parents=True)
    for i, img in enumerate(x):
        Image.fromarray(img.transpose(1, 2, 0)).save(folder / f"{i:03d}.png")
    return folder


def test_fid_equals_cleanfid_compute_fid_on_two_folders(stand_in, tmp_path, mode="clean"):
    """gangrid's `fid<N>_incep` = clean-fid's compute_fid on the same images as PNG folders, same weight file.
    (One mode: clean-fid's sqrtm of a 2048 x 2048 product costs seconds; test_metrics_stage checks the features of
    both modes against clean-fid's.)"""
    from cleanfid.fid import compute_fid
    from cleanfid.inception_torchscript import InceptionV3W

    fake, real = images(40, 0, shift=30), images(40, 1)
    ref = compute_fid(str(save_folder(tmp_path / "fake", fake)), str(save_folder(tmp_path / "real", real)), mode=mode,
                      custom_feat_extractor=InceptionV3W(str(stand_in.parent), download=False,
                                                         resize_inside=mode == "legacy_tensorflow"),
                      device=torch.device("cpu"), num_workers=0, batch_size=16, verbose=False)
    ctx = EvalContext(kind="image", fake=fake, real=real, cfg={},
                      extractor=inception_mod.inception_extractor(stand_in, mode, "cpu", batch=16), extractor_name="incep")
    ours = compute_metrics(ctx, ["fid"])
    assert list(ours) == ["fid40_incep"]
    assert ours["fid40_incep"] == pytest.approx(ref, rel=1e-5)


def test_probabilities_are_the_networks_own_without_the_output_bias(stand_in):
    """Our class probabilities = the TorchScript file's forward(no_output_bias=True), which stylegan2-ada's IS calls."""
    x = images(8, 2)
    _, probs = inception_mod.inception_extractor(stand_in, "legacy_tensorflow", "cpu")(x)
    net = torch.jit.load(str(stand_in))
    with torch.no_grad():
        own = net(torch.from_numpy(x).float(), no_output_bias=True).double().numpy()
        biased = net(torch.from_numpy(x).float()).double().numpy()
    assert np.allclose(probs, own, atol=1e-6)
    assert not np.allclose(probs, biased, atol=1e-3)  # the bias is left out on purpose


def test_inception_score_equals_torch_fidelity_formula_on_unbiased_logits(stand_in):
    """IS of the extractor's probabilities = torch-fidelity's isc (log-softmax of the unbiased logits, float64,
    10 splits, population std) with its shuffle off: stylegan2-ada's consecutive splits."""
    x = images(200, 3)
    feats, probs = inception_mod.inception_extractor(stand_in, "clean", "cpu")(x)
    logits = torch.from_numpy(feats) @ torch.jit.load(str(stand_in)).output.weight.double().T
    p, log_p = logits.softmax(1), logits.log_softmax(1)
    scores = []
    for i in range(10):
        part, log_part = p[i * 20 : (i + 1) * 20], log_p[i * 20 : (i + 1) * 20]
        kl = part * (log_part - torch.log(part.mean(0, keepdim=True)))
        scores.append(kl.sum(1).mean().exp().item())
    mean, std = inception_score(probs, 10)
    assert mean == pytest.approx(float(np.mean(scores)), rel=1e-9)
    assert std == pytest.approx(float(np.std(scores)), rel=1e-6)
    assert mean > 1.0


# ---- the fetch-inception stage ------------------------------------------------------------------

def eval_cfg(tmp_path: Path, **inception) -> dict:
    return {"eval": {"extractor": "inception", "inception": {"cache": str(tmp_path / "cache"), **inception}}}


@pytest.fixture()
def no_download(monkeypatch, tmp_path):
    """Any download attempt fails as it does offline; clean-fid's own cache is an empty folder."""
    def offline(url, dest, timeout):
        if "://" in url:
            raise urllib.error.URLError("Temporary failure in name resolution")
        dest.write_bytes(Path(url).read_bytes())

    monkeypatch.setattr(weights_mod, "download_url", offline)
    monkeypatch.setattr(weights_mod, "cleanfid_cache_dir", lambda: tmp_path / "cleanfid")


def test_fetch_copies_from_the_url_into_the_cache_once_and_records_it(stand_in, tmp_path, no_download, monkeypatch):
    params = eval_cfg(tmp_path, url=str(stand_in), sha256=sha256(stand_in))
    record = weights_mod.fetch_inception(params, tmp_path / "inception.json")
    target = tmp_path / "cache" / WEIGHTS_FILE
    assert record["weights"] == target.as_posix() and record["from"] == str(stand_in)
    assert sha256(target) == sha256(stand_in) == record["sha256"]
    assert json.loads((tmp_path / "inception.json").read_text()) == record
    assert sorted(p.name for p in target.parent.iterdir()) == [WEIGHTS_FILE]  # no temp file left
    monkeypatch.setattr(weights_mod, "place", lambda *a: pytest.fail("fetched twice"))
    assert weights_mod.fetch_inception(params, tmp_path / "inception.json")["from"] == "cache"
    assert inception_mod.find_weights(params["eval"]) == target  # where evaluate looks


def test_fetch_refuses_a_file_with_another_sha256(stand_in, tmp_path, no_download):
    # the stand-in is not the published file: with the pinned sha256 a download of it is refused, leaving nothing
    with pytest.raises(DataError, match=f"sha256 {sha256(stand_in)} is not the expected {weights_mod.WEIGHTS_SHA256}"):
        weights_mod.fetch_inception(eval_cfg(tmp_path, url=str(stand_in)), tmp_path / "inception.json")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
    assert not (tmp_path / "inception.json").exists()
    # a configured file is checked too
    with pytest.raises(DataError, match="eval.inception.sha256"):
        weights_mod.fetch_inception(eval_cfg(tmp_path, weights=str(stand_in)), tmp_path / "inception.json")


def test_fetch_offline_says_where_to_put_the_file(tmp_path, no_download):
    with pytest.raises(DataError) as err:
        weights_mod.fetch_inception(eval_cfg(tmp_path), tmp_path / "inception.json")
    line = str(err.value)
    assert "\n" not in line and weights_mod.WEIGHTS_URL in line and "Temporary failure" in line
    assert f"put {WEIGHTS_FILE} (sha256 {weights_mod.WEIGHTS_SHA256}) at {tmp_path / 'cache' / WEIGHTS_FILE}" in line


def test_fetch_is_a_note_without_the_inception_extractor(tmp_path, monkeypatch):
    monkeypatch.setattr(weights_mod, "obtain_weights", lambda ev: pytest.fail("looked for weights"))
    record = weights_mod.fetch_inception({"eval": {"extractor": "classifier"}}, tmp_path / "inception.json")
    assert record == {"extractor": "classifier", "weights": None}


def test_paper_preset_validates_and_evaluates_with_inception(capsys):
    from gangrid.cli import main
    from gangrid.config import load_params

    repo = Path(__file__).resolve().parents[1]
    files = [str(repo / "params.yaml"), str(repo / "presets/paper.yaml")]
    assert main([a for f in files for a in ("--params", f)] + ["validate"]) == 0
    params = load_params(files)
    assert f"ok ({len(params['studies'])} studies" in capsys.readouterr().out
    ev = params["eval"]
    assert ev["extractor"] == "inception" and "fid" in ev["metrics"] and "is" in ev["metrics"]
