"""End to end through the CLI on tiny derived sets: data, classifier, train / sample / evaluate, real row, translate."""

from __future__ import annotations

import copy
import io
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from gangrid.cli import main
from gangrid.config import find_run, load_params
from gangrid.io import load_torch
from gangrid.stages.train import train_run
from translation_util import PARAMS, one_thread  # noqa: F401

from conftest import write_params

TINY_ARCH = {"g_ch": 4, "d_ch": 4, "n_blocks": 2}


def tiny_params() -> dict:
    """The repository's translation presets on edges2digits and an unpaired digits 1 <-> 7 set, 6 steps."""
    params = copy.deepcopy(PARAMS)
    params["datasets"] = {
        "edges2digits": params["datasets"]["edges2digits"],
        "ones2sevens": {"source": "class_domains", "base": {"source": "digits"}, "domain_a": [1], "domain_b": [7],
                        "resolution": 16, "channels": 1, "split": {"val": 0.1, "test": 0.2, "seed": 0}},
    }
    for name in ("pix2pix16", "cyclegan16", "cyclegan16_noid"):
        params["archs"][name].update(TINY_ARCH)
    study = params["studies"]["translation"]
    study.update(seeds=[0], archs=["pix2pix16", "cyclegan16", "cyclegan16_noid"],
                 train={"steps": 6, "batch_size": 8, "checkpoint_every": 3, "log_every": 2})
    unpaired = {**copy.deepcopy(study), "datasets": ["ones2sevens"], "archs": ["cyclegan16"]}
    unpaired["baseline"] = {"arch": "cyclegan16", "loss": "paper", "trick": "none"}
    params["studies"] = {"translation": study, "unpaired": unpaired}
    params["train"]["threads"] = 1
    params["eval"]["threads"] = 1
    params["eval"].update({"n_samples": 40, "kid_subsets": 2, "kid_subset_size": 20})
    params["eval"]["classifier"].update({"epochs": 1, "floor": {"default": 0.0}})
    return params


def cli(*args: str) -> int:
    return main(["--params", "params.yaml", *args])


@pytest.mark.slow
def test_translation_study_end_to_end(in_tmp, capsys):
    write_params(in_tmp / "params.yaml", tiny_params())
    for ds in ("edges2digits", "ones2sevens"):
        for stage in ("download", "preprocess", "train-classifier", "evaluate-real"):
            assert cli(stage, ds) == 0, capsys.readouterr().err
    clf = load_torch(in_tmp / "models/classifier/ones2sevens.pt")
    assert clf["domains"] == ["a", "b"] and load_torch(in_tmp / "models/classifier/edges2digits.pt")["domains"] == ["b"]
    runs = [("translation", f"edges2digits-{a}-paper-none-s0") for a in ("pix2pix16", "cyclegan16", "cyclegan16_noid")]
    runs.append(("unpaired", "ones2sevens-cyclegan16-paper-none-s0"))
    for study, run in runs:
        for stage in ("train", "sample", "evaluate"):
            assert cli(stage, study, run) == 0, capsys.readouterr().err
    metrics = {run: json.loads((in_tmp / "results" / study / run / "metrics.json").read_text()) for study, run in runs}
    p2p, cyc, unp = (metrics[runs[0][1]], metrics[runs[1][1]], metrics[runs[3][1]])
    n = 40
    for m in (p2p, cyc):  # paired test data: pixel metrics and the pair's class as target
        assert {"l1", "psnr", "ssim", f"fid{n}_clf", f"kid{n}_clf", "acc_target_clf"} <= set(m)
        assert 0 <= m["l1"] <= 1 and -1 <= m["ssim"] <= 1 and 0 <= m["acc_target_clf"] <= 1
    assert "cycle" not in p2p and "x_b" not in np.load(in_tmp / "results/translation" / runs[0][1] / "samples.npz")
    assert {"cycle", "cycle_ba", "l1_ba"} <= set(cyc) and "fid40_clf_ba" not in cyc  # the paired set's classifier knows B only
    assert cyc["protocol"]["directions"] == ["ab", "ba"]
    assert {"cycle", "cycle_ba", "acc_target_clf", "acc_target_clf_ba", "fid36_clf", "fid36_clf_ba"} <= set(unp)
    assert "l1" not in unp  # unpaired: no targets
    with np.load(in_tmp / "results/unpaired" / runs[3][1] / "samples.npz") as f:
        assert f["src"].shape == f["x"].shape == f["rec"].shape == (36, 1, 16, 16) and f["x"].dtype == np.uint8
        assert set(np.unique(f["y"])) == {1} and set(np.unique(f["y_b"])) == {7}
    real = json.loads((in_tmp / "results/real/ones2sevens/metrics.json").read_text())
    assert {"fid36_clf", "fid36_clf_ba", "acc_target_clf", "acc_target_clf_ba"} <= set(real)
    assert (in_tmp / "results/translation" / runs[1][1] / "grid.png").stat().st_size > 0

    # sampling is deterministic (pix2pix's test-time dropout is seeded)
    first = (in_tmp / "results/translation" / runs[0][1] / "samples.npz").read_bytes()
    assert cli("sample", *runs[0]) == 0
    with np.load(in_tmp / "results/translation" / runs[0][1] / "samples.npz") as f2:
        with np.load(io.BytesIO(first)) as f1:
            assert np.array_equal(f1["x"], f2["x"])

    # folder inference: a larger image goes through the sliding window, a smaller one is padded
    (in_tmp / "in").mkdir()
    a = np.load(in_tmp / "data/processed/edges2digits/test_a.npy")
    Image.fromarray(np.concatenate([a[0, 0], a[1, 0]], axis=1)).save(in_tmp / "in/wide.png")
    Image.fromarray(a[2, 0, :12, :12]).save(in_tmp / "in/small.jpg")
    assert cli("translate", "--study", "translation", "--run", runs[1][1], "--direction", "ba", "in", "out") == 0
    assert Image.open(in_tmp / "out/wide.png").size == (32, 16) and Image.open(in_tmp / "out/small.png").size == (12, 12)
    capsys.readouterr()
    assert cli("translate", "--study", "translation", "--run", runs[0][1], "--direction", "ba", "in", "out") == 2
    assert "translates ab only" in capsys.readouterr().err


@pytest.mark.slow
def test_killed_translation_run_resumes_to_the_uninterrupted_result(in_tmp, monkeypatch):
    write_params(in_tmp / "params.yaml", tiny_params())
    assert cli("download", "ones2sevens") == 0 and cli("preprocess", "ones2sevens") == 0
    assert cli("train-classifier", "ones2sevens") == 0  # in-training metrics score on its features
    params = load_params("params.yaml")
    spec = find_run(params, "unpaired", "ones2sevens-cyclegan16-paper-none-s0")
    torch.set_num_threads(1)
    train_run(params, spec, progress=False)
    straight = load_torch(spec.dir / "checkpoint.pt")["state"]
    shutil.rmtree(spec.dir)

    import gangrid.training.loop as stage

    original = stage.save_checkpoint

    def save_then_die(*args, **kwargs):
        original(*args, **kwargs)
        raise KeyboardInterrupt  # killed right after the step-3 checkpoint

    monkeypatch.setattr(stage, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_run(params, spec, progress=False)
    monkeypatch.setattr(stage, "save_checkpoint", original)
    assert [p.name for p in (in_tmp / "checkpoints/unpaired" / spec.name).glob("step_*.pt")] == ["step_00000003.pt"]
    train_run(params, spec, progress=False)
    resumed = load_torch(spec.dir / "checkpoint.pt")["state"]
    assert straight["step"] == resumed["step"] == 6
    for key in ("g", "d", "opt_g", "tricks"):
        flat_a, flat_b = _tensors(straight[key]), _tensors(resumed[key])
        assert flat_a.keys() == flat_b.keys() and all(torch.equal(flat_a[k], flat_b[k]) for k in flat_a), key


def _tensors(tree, prefix: str = "") -> dict:
    """The tensors of a nested state dict, by path."""
    out = {}
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, (list, tuple)) else []
    for k, v in items:
        if isinstance(v, torch.Tensor):
            out[f"{prefix}{k}"] = v
        else:
            out.update(_tensors(v, f"{prefix}{k}."))
    return out


def test_pix2pix_on_an_unpaired_set_is_one_error_line(in_tmp, capsys):
    params = tiny_params()
    params["studies"]["unpaired"].update(archs=["pix2pix16"], baseline={"loss": "paper", "trick": "none"})
    write_params(in_tmp / "params.yaml", params)
    assert cli("download", "ones2sevens") == 0 and cli("preprocess", "ones2sevens") == 0
    assert cli("train-classifier", "ones2sevens") == 0  # in-training metrics score on its features
    capsys.readouterr()
    assert cli("train", "unpaired", "ones2sevens-pix2pix16-paper-none-s0") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs a paired dataset" in err[0] and "ones2sevens" in err[0]
