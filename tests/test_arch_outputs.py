"""What architecture families add to a run's outputs through the real stages: the semi-supervised
D's test accuracy in metrics.json, and InfoGAN / StyleGAN figures in the report's figures."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from gangrid.config import RunSpec, load_params
from gangrid.io import read_json
from gangrid.stages.data import run_download, run_preprocess, run_train_classifier
from gangrid.stages.evaluate import evaluate_run
from gangrid.stages.sample import sample_run
from gangrid.stages.train import train_run

REPO = Path(__file__).resolve().parents[1]
ARCHS = ("semisup16", "infogan16", "stylegan16", "dcgan16")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """digits processed, a quick classifier, and one 30-step run of each family in ARCHS (sampled, evaluated)."""
    root = tmp_path_factory.mktemp("arch_outputs")
    old = os.getcwd()
    os.chdir(root)
    params = copy.deepcopy(load_params(REPO / "params.yaml"))
    params["eval"].update({"n_samples": 300, "kid_subsets": 4, "kid_subset_size": 100, "metrics": ["fid"]})
    params["eval"]["classifier"].update({"epochs": 1, "width": 8, "feature_dim": 32, "floor": {"default": 0.0}})
    params["studies"] = {"arch": {"datasets": ["digits"], "archs": list(ARCHS), "losses": ["ns"], "tricks": ["none"],
                                  "seeds": [0], "baseline": {"arch": "dcgan16", "loss": "ns", "trick": "none"},
                                  "train": {"steps": 30, "log_every": 10, "checkpoint_every": 30}}}
    try:
        run_download(params, "digits")
        run_preprocess(params, "digits")
        run_train_classifier(params, "digits")
        specs = {a: RunSpec("arch", "digits", a, "ns", "none", 0) for a in ARCHS}
        for spec in specs.values():
            train_run(params, spec, progress=False)
            sample_run(params, spec)
            evaluate_run(params, spec)
        yield root, params, specs
    finally:
        os.chdir(old)


def test_semisupervised_run_reports_its_discriminators_test_accuracy(trained):
    from gangrid.data.store import load_split
    from gangrid.kinds import load_finished_run
    from gangrid.nets.semisup import split_accuracy

    root, _, specs = trained
    metrics = read_json(root / specs["semisup16"].dir / "metrics.json")
    assert 0.0 <= metrics["d_accuracy"] <= 1.0
    assert metrics["protocol"]["architecture_metrics"] == ["d_accuracy"]
    assert metrics["d_accuracy"] == pytest.approx(split_accuracy(load_finished_run(root / specs["semisup16"].dir, torch.device("cpu"))), rel=1e-5)
    # the accuracy is over the whole test split: a multiple of 1/len(test)
    n_test = len(load_split("digits", "test").y)
    assert metrics["d_accuracy"] * n_test == pytest.approx(round(metrics["d_accuracy"] * n_test), abs=1e-3)
    for arch in ("infogan16", "stylegan16", "dcgan16"):
        other = read_json(root / specs[arch].dir / "metrics.json")
        assert "d_accuracy" not in other and "architecture_metrics" not in other["protocol"]


def test_infogan_and_stylegan_figures_reach_the_report(trained):
    from PIL import Image

    from gangrid.report.plots import run_plots

    root, params, _ = trained
    figures = run_plots(params)
    arch = {f.stem: f for f in figures if f.stem.startswith("arch_")}
    assert set(arch) == {"arch_arch_digits-infogan16-ns-none_traversal_c0",
                         "arch_arch_digits-infogan16-ns-none_traversal_c1",
                         "arch_arch_digits-stylegan16-ns-none_style_mixing"}
    for stem, fig in arch.items():
        png = root / "reports/figures" / f"{stem}.png"
        assert (root / "reports/figures" / f"{stem}.pdf").stat().st_size > 0
        img = np.asarray(Image.open(png).convert("L"))
        assert img.shape[0] > 50 and img.std() > 10, stem  # drawn images, not a blank page
        assert "seed 0" in fig.caption
    assert "Latent traversals" in arch["arch_arch_digits-infogan16-ns-none_traversal_c0"].caption
    assert "style-mixing" in arch["arch_arch_digits-stylegan16-ns-none_style_mixing"].caption
    index = read_json(root / "reports/figures/index.json")["figures"]
    assert {f["stem"] for f in index} >= set(arch)
