"""Conditional models sample the classes they are asked for, the semi-supervised GAN's
discriminator classifies, InfoGAN's Q head reads its codes back: short CPU training runs on
16 px digits, judged by the pipeline's domain classifier (slow: under a minute on two cores)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from gangrid.classifier import accuracy, train_conv_classifier
from gangrid.config import RunSpec, config_hash, load_params, resolve_run
from gangrid.data.store import load_split, to_model
from gangrid.io import save_torch, write_json
from gangrid.nets import DataSpec
from gangrid.stages.data import run_download, run_preprocess
from gangrid.kinds.gan.sampling import generate
from gangrid.kinds.gan.trainer import GanTrainer
from gangrid.runtime import seed_everything

from conftest import REPO

pytestmark = pytest.mark.slow
PARAMS = load_params(REPO / "params.yaml")
DATA = DataSpec("image", (1, 16, 16), 10)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny nets run fastest single-threaded (and do not fight other processes for cores)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """Processed 16 px digits (download + preprocess stages in a temp dir) and a trained domain classifier."""
    root = tmp_path_factory.mktemp("digits")
    old = os.getcwd()
    os.chdir(root)
    try:
        run_download(PARAMS, "digits")
        run_preprocess(PARAMS, "digits")
        train, val, test = (load_split("digits", s, mmap=False) for s in ("train", "val", "test"))
        clf, _ = train_conv_classifier(train, val, 10, {"epochs": 6, "batch_size": 64, "lr": 1e-3}, seed=0)
        assert accuracy(clf, to_model(test.x), torch.as_tensor(test.y)) > 0.9
        yield root, train, test, clf
    finally:
        os.chdir(old)


def train_run(arch: str, loss: str, train, steps: int, batch: int = 32) -> tuple[GanTrainer, dict]:
    """Train `arch` x `loss` (its implied tricks included) on the digits train split."""
    study = {"datasets": ["digits"], "archs": [arch], "losses": [loss], "tricks": ["none"], "seeds": [0], "baseline": {}, "train": {}}
    cfg = resolve_run({**PARAMS, "studies": {"nets": study}}, RunSpec("nets", "digits", arch, loss, "none", 0))  # params' train defaults
    cfg["train"].update(steps=steps, batch_size=batch)
    seed_everything(0)
    trainer = GanTrainer(cfg, DATA)
    trainer.attach_data(torch.from_numpy(train.x), torch.from_numpy(train.y), seed=0)
    for _ in range(steps):
        trainer.iteration()
    return trainer, cfg


@pytest.mark.parametrize("arch,loss", [("cgan16", "ns"), ("acgan16", "ns")])
def test_conditional_samples_show_the_requested_digit(digits, arch, loss):
    _, train, _, clf = digits
    trainer, cfg = train_run(arch, loss, train, steps=250)
    x, y = generate(trainer.sampling_generator(), DATA, cfg["train"]["z_dim"], 500, seed=1234, device=torch.device("cpu"))
    assert np.array_equal(np.bincount(y), [50] * 10)  # the sample stage asks for every class equally
    with torch.no_grad():
        predicted = clf(to_model(x)).argmax(1).numpy()
    agreement = float((predicted == y).mean())
    assert agreement > 0.6, f"{arch}: classifier agrees with the requested label for {agreement:.1%} (chance 10%)"


def test_semi_supervised_discriminator_classifies_held_out_digits(digits):
    from gangrid.kinds import load_finished_run
    from gangrid.nets.semisup import classifier_accuracy, split_accuracy

    root, train, test, _ = digits
    trainer, cfg = train_run("semisup16", "ns", train, steps=100)
    acc = classifier_accuracy(trainer.d, to_model(test.x), torch.as_tensor(test.y))
    assert acc > 0.6, f"D's 10-way test accuracy {acc:.1%} with 100 labels (chance 10%)"
    run_dir = root / "results" / "semi" / "run"
    write_json(run_dir / "config.json", cfg)
    save_torch(run_dir / "checkpoint.pt", {"config_hash": config_hash(cfg), "config": cfg, "state": trainer.state_dict()})
    assert split_accuracy(load_finished_run(run_dir, torch.device("cpu"))) == pytest.approx(acc)  # the metric, computed from the run's checkpoint


def test_infogan_q_head_recovers_the_codes_after_a_short_run(digits):
    """The mutual-information term works: Q reads the categorical code back from fresh samples
    (chance 10%) and its estimate of a continuous code rises with the code."""
    _, train, _, _ = digits
    trainer, _ = train_run("infogan16", "ns", train, steps=150)
    g, d = trainer.g.eval(), trainer.d.eval()
    z = g.sample_latent(500, torch.Generator().manual_seed(1))
    _, cats, cont = g.split_codes(z)
    with torch.no_grad():
        logits, means = d.info_head(d(g(z)).features)
    assert float((logits[0].argmax(1) == cats[0]).float().mean()) > 0.5
    assert float(torch.corrcoef(torch.stack([cont[:, 0], means[:, 0]]))[0, 1]) > 0.5
