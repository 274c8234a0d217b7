"""The new families and kinds through the real stages (in-process `gangrid` commands, tiny nets, a few steps):
EBGAN, BEGAN, LAPGAN and StyleGAN2 in the architectures study, AAE and BiGAN in an `encoders` study, SRGAN in a
`superres` study; then aggregate / plots / report show their rows, the encoder table and the SR table with the
bicubic reference row."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from gangrid.cli import main
from gangrid.config import iter_runs, load_params

from conftest import REPO, write_params
from translation_util import one_thread  # noqa: F401  (autouse: tiny nets run fastest on one thread)

TINY = {
    "ebgan16": {"g_ch": 4, "d_ch": 4, "code_dim": 4}, "began16": {"ch": 4, "code_dim": 4},
    "lapgan16": {"g_ch": 4, "d_ch": 4, "hidden": 8}, "stylegan2_16": {"g_ch": 4, "d_ch": 4, "max_ch": 8, "w_dim": 8},
    "aae16": {"g_ch": 4, "d_ch": 4, "d_hidden": 8}, "bigan16": {"g_ch": 4, "d_ch": 4, "d_hidden": 8},
    "srgan16": {"g_ch": 4, "blocks": 1, "d_ch": 4, "d_hidden": 8, "pretrain": 0.5},
}
TRAIN = {"steps": 4, "batch_size": 16, "log_every": 2, "checkpoint_every": 4}


def tiny_params() -> dict:
    """The repository's presets and new studies (the architectures study of presets/full.yaml), on digits and
    digits_sr, with tiny nets and 4 steps."""
    params = copy.deepcopy(load_params([REPO / "params.yaml", REPO / "presets/full.yaml"]))
    params["datasets"] = {k: params["datasets"][k] for k in ("digits", "digits_sr")}
    for arch, sizes in TINY.items():
        params["archs"][arch].update(sizes)
    studies = params["studies"]
    params["studies"] = {
        "architectures": {**studies["architectures"], "archs": ["ebgan16", "began16", "lapgan16", "stylegan2_16"],
                          "baseline": {"arch": "ebgan16", "loss": "paper", "trick": "none"}, "train": TRAIN},
        "encoders": {**studies["encoders"], "seeds": [0], "train": TRAIN},
        "superres": {**studies["superres"], "seeds": [0], "train": TRAIN},
    }
    params["eval"].update({"n_samples": 60, "kid_subsets": 2, "kid_subset_size": 30, "every": 2, "threads": 1})
    params["eval"]["track"].update({"n": 60, "kid_subset_size": 30})
    params["eval"]["classifier"].update({"epochs": 1, "width": 8, "feature_dim": 16, "floor": {"default": 0.0}})
    params["train"]["threads"] = 1
    params["report"]["pdf"] = "never"
    return params


def cli(*args: str) -> int:
    return main(["--params", "params.yaml", *args])


@pytest.mark.slow
def test_new_families_and_kinds_run_through_every_stage_and_reach_the_report(in_tmp, capsys):
    from gangrid.data.superres import bicubic_upsample, downsample
    from gangrid.data.store import load_split
    from gangrid.kinds.superres.evaluate import subset
    from gangrid.metrics.translation import psnr

    params = tiny_params()
    write_params(in_tmp / "params.yaml", params)
    assert cli("validate") == 0
    for ds in ("digits", "digits_sr"):
        for stage in ("download", "preprocess", "train-classifier", "evaluate-real"):
            assert cli(stage, ds) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert cli("runs") == 0
    listed = capsys.readouterr().out
    for arch in TINY:
        assert arch in listed
    for spec in iter_runs(params):
        for stage in ("train", "sample", "evaluate"):
            assert cli(stage, spec.study, spec.name) == 0, capsys.readouterr().err
        status = json.loads((spec.dir / "status.json").read_text())
        assert status["status"] == "finished" and status["convergence"]["verdict"] == "undetermined"

    # the bicubic reference row is the bicubic upsampling of the same LR test inputs
    real = json.loads((in_tmp / "results/real/digits_sr/metrics.json").read_text())
    test = load_split("digits_sr", "test").x
    hr = np.asarray(test[subset(len(test), 60, params["eval"]["sample_seed"] + 1)])
    assert real["sr_psnr"] == pytest.approx(psnr(bicubic_upsample(downsample(hr, 2), 2), hr), rel=1e-5)
    assert real["reference"]["label"] == "bicubic x2" and "fid60_clf" in real
    sr = json.loads((in_tmp / "results/superres/digits_sr-srgan16-paper-none-s0/metrics.json").read_text())
    assert {"sr_psnr", "sr_ssim", "fid60_clf"} <= set(sr) and sr["convergence"]["metric"] == "sr_psnr"
    with np.load(in_tmp / "results/superres/digits_sr-srgan16-paper-none-s0/samples.npz") as f:
        assert f["x"].shape == f["hr"].shape == f["bicubic"].shape == (60, 1, 16, 16) and f["lr"].shape == (60, 1, 8, 8)
    for arch in ("aae16", "bigan16"):
        enc = json.loads((in_tmp / f"results/encoders/digits-{arch}-paper-none-s0/metrics.json").read_text())
        assert 0 <= enc["probe_acc"] <= 1 and enc["recon_mse"] > 0 and "fid60_clf" in enc

    for stage in ("aggregate", "plots", "report"):
        assert cli(stage) == 0, capsys.readouterr().err
    tables = in_tmp / "reports/tables"
    sr_table = (tables / "superres_superres.md").read_text()
    assert "srgan16" in sr_table and "_bicubic x2_" in sr_table and "sr_psnr" in sr_table
    assert "_bicubic x2_" in (tables / "superres_quality.md").read_text()
    enc_table = (tables / "encoders_encoders.md").read_text()
    assert "aae16" in enc_table and "bigan16" in enc_table and "probe_acc" in enc_table and "recon_mse" in enc_table
    quality = (tables / "architectures_quality.md").read_text()
    for arch in ("ebgan16", "began16", "lapgan16", "stylegan2_16"):
        assert arch in quality
    index = json.loads((tables / "index.json").read_text())["tables"]
    caption = next(t["caption"] for t in index if t["stem"] == "superres_superres")
    assert "Bicubic x2: the bicubic x2 upsampling of the same LR test inputs" in caption
    figures = {f["stem"] for f in json.loads((in_tmp / "reports/figures/index.json").read_text())["figures"]}
    assert {"samples_superres", "samples_encoders", "arch_architectures_digits-stylegan2_16-paper-none_style_mixing"} <= figures
    report = (in_tmp / "reports/report.md").read_text()
    assert "bicubic x2" in report and "bigan16" in report and "lapgan16" in report
