"""Every registered loss against values computed by hand from fixed logits."""

from __future__ import annotations

import math

import pytest
import torch

from gangrid.losses import LOSSES, Targets, get_loss

REAL = [0.0, 2.0]  # D logits on two real samples
FAKE = [-1.0, 2.0]  # D logits on two fakes


def log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x))


def log_one_minus_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(x))


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def bce(x: float, t: float) -> float:
    return -(t * log_sigmoid(x) + (1 - t) * log_one_minus_sigmoid(x))


EXPECTED = {
    # name: (D loss, G loss)
    "minimax": (-mean(map(log_sigmoid, REAL)) - mean(map(log_one_minus_sigmoid, FAKE)),
                mean(map(log_one_minus_sigmoid, FAKE))),
    "ns": (-mean(map(log_sigmoid, REAL)) - mean(map(log_one_minus_sigmoid, FAKE)),
           -mean(map(log_sigmoid, FAKE))),
    "lsgan": (0.5 * mean((r - 1) ** 2 for r in REAL) + 0.5 * mean(f**2 for f in FAKE),
              0.5 * mean((f - 1) ** 2 for f in FAKE)),
    "wasserstein": (mean(FAKE) - mean(REAL), -mean(FAKE)),
    "hinge": (mean(max(0.0, 1 - r) for r in REAL) + mean(max(0.0, 1 + f) for f in FAKE), -mean(FAKE)),
    # pix2pix's code: D 0.5 * (BCE(real, 1) + BCE(fake, 0)), G BCE(fake, 1)
    "pix2pix": (0.5 * (-mean(map(log_sigmoid, REAL)) - mean(map(log_one_minus_sigmoid, FAKE))),
                -mean(map(log_sigmoid, FAKE))),
    # CycleGAN's code: D 0.5 * (MSE(real, 1) + MSE(fake, 0)), G MSE(fake, 1) without 1/2
    "cyclegan": (0.5 * mean((r - 1) ** 2 for r in REAL) + 0.5 * mean(f**2 for f in FAKE),
                 mean((f - 1) ** 2 for f in FAKE)),
    # EBGAN / BEGAN on an auto-encoder D whose logits are minus the energy: D E[E(x)] = -E[logit(x)], G E[E(G(z))];
    # D's push on the fakes is its paper's trick (margin, k_t), not the loss
    "energy": (-mean(REAL), -mean(FAKE)),
}


def test_every_registered_loss_has_a_known_value():
    assert set(EXPECTED) == set(LOSSES.names())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loss_values(name):
    loss = get_loss(name)
    d = loss.d(torch.tensor(REAL), torch.tensor(FAKE), Targets())
    g = loss.g(torch.tensor(FAKE))
    assert d.item() == pytest.approx(EXPECTED[name][0], abs=1e-6)
    assert g.item() == pytest.approx(EXPECTED[name][1], abs=1e-6)


def test_hand_computed_numbers():
    """A few values written out, to catch a sign error shared by the formulas above."""
    zeros = torch.zeros(4)
    assert get_loss("ns").d(zeros, zeros, Targets()).item() == pytest.approx(2 * math.log(2))
    assert get_loss("ns").g(zeros).item() == pytest.approx(math.log(2))
    assert get_loss("minimax").g(zeros).item() == pytest.approx(-math.log(2))
    assert get_loss("lsgan").d(torch.tensor(REAL), torch.tensor(FAKE), Targets()).item() == pytest.approx(0.5 * 1 + 0.5 * 2.5)
    assert get_loss("hinge").d(torch.tensor(REAL), torch.tensor(FAKE), Targets()).item() == pytest.approx(2.0)
    assert get_loss("wasserstein").d(torch.tensor(REAL), torch.tensor(FAKE), Targets()).item() == pytest.approx(-0.5)


@pytest.mark.parametrize("name", ["minimax", "ns"])
def test_bce_losses_use_targets(name):
    targets = Targets(real=0.9, fake=0.1)
    d = get_loss(name).d(torch.tensor(REAL), torch.tensor(FAKE), targets).item()
    expected = mean(bce(r, 0.9) for r in REAL) + mean(bce(f, 0.1) for f in FAKE)
    assert d == pytest.approx(expected, abs=1e-6)


def test_lsgan_uses_targets_and_per_sample_targets_broadcast():
    targets = Targets(real=torch.tensor([1.0, 0.0]), fake=torch.tensor([0.0, 1.0]))
    d = get_loss("lsgan").d(torch.tensor(REAL), torch.tensor(FAKE), targets).item()
    expected = 0.5 * mean([(0.0 - 1) ** 2, (2.0 - 0) ** 2]) + 0.5 * mean([(-1.0 - 0) ** 2, (2.0 - 1) ** 2])
    assert d == pytest.approx(expected)
    patch = torch.zeros(2, 1, 3, 3)  # PatchGAN-style logits: one target per sample, broadcast over the map
    assert get_loss("lsgan").d(patch, patch, targets).item() == pytest.approx(0.5 * 0.5 + 0.5 * 0.5)


@pytest.mark.parametrize("name", ["hinge", "wasserstein"])
def test_label_free_losses_ignore_targets(name):
    loss = get_loss(name)
    r, f = torch.tensor(REAL), torch.tensor(FAKE)
    assert loss.d(r, f, Targets(0.9, 0.1)).item() == loss.d(r, f, Targets()).item()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_gradients_point_the_right_way(name):
    """Minimising D's loss raises real logits and lowers fake ones; minimising G's raises fake logits
    (logits in (0, 1), where every loss is in its non-flat region)."""
    loss = get_loss(name)
    r = torch.tensor([0.5, 0.25], requires_grad=True)
    f = torch.tensor([0.5, 0.25], requires_grad=True)
    loss.d(r, f, Targets()).backward()
    assert (r.grad < 0).all()
    if name == "energy":  # D's push on the fakes is the family's trick (EBGAN's margin, BEGAN's k_t), not the loss
        assert f.grad is None
    else:
        assert (f.grad > 0).all()
    f2 = torch.tensor([0.5, 0.25], requires_grad=True)
    loss.g(f2).backward()
    assert (f2.grad < 0).all()


def test_translation_presets_train_with_their_papers_objectives(params):
    """Issue 17, item 2: in the translation study pix2pix trains with its cGAN loss (D halved) and
    CycleGAN with its MSE least squares, whose G term weighs 1 against cycle 10 and identity 5
    (lsgan's G carries Mao et al.'s 1/2, which halved it against the cycle terms)."""
    from gangrid.config import find_run, iter_runs, resolve_run

    expected = {"pix2pix16": "pix2pix", "cyclegan16": "cyclegan", "cyclegan16_noid": "cyclegan"}
    params["studies"]["translation"]["archs"] = list(expected)  # every translation preset (presets/full.yaml's list)
    fns = {spec.arch: resolve_run(params, spec)["loss"]["fn"] for spec in iter_runs(params, ["translation"])}
    assert fns == expected
    cfg = resolve_run(params, find_run(params, "translation", "edges2digits-cyclegan16-paper-none-s0"))
    assert cfg["tricks"]["cycle"]["weight"] * cfg["tricks"]["identity"]["weight"] == 5.0
    d_out = torch.tensor([0.0, 0.5])  # G's term: MSE(D(G(a)), 1) = (1 + 0.25) / 2
    assert get_loss("cyclegan").g(d_out).item() == pytest.approx(0.625)
    assert get_loss("pix2pix").g(torch.zeros(3)).item() == pytest.approx(math.log(2))
    assert get_loss("pix2pix").d(torch.zeros(3), torch.zeros(3), Targets()).item() == pytest.approx(math.log(2))
