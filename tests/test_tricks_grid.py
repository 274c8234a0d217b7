"""One training iteration of EVERY loss preset x trick preset of params.yaml on the MLP (2-D
points) and DCGAN (16 px) nets, on CPU: finite losses, both nets move, samples have the right shape."""

from __future__ import annotations

import itertools

import pytest
import torch

from gangrid.errors import ConfigError
from gangrid.tricks import TRICKS, build_tricks

from tricks_util import DATA, PARAMS, make_trainer, tiny_config

# GAN losses x every trick; the translation objectives (pix2pix, cyclegan: scalings of ns / lsgan, values in
# test_losses.py) and the energy-based GANs' `energy` (meant for an auto-encoder D: test_families_equations.py)
# with no trick; `paper` (fn: arch) resolves to another preset's loss (ns for both nets here)
SINGLE = ("pix2pix", "cyclegan", "energy")
GAN_LOSSES = [n for n, p in PARAMS["losses"].items() if p["fn"] not in ("arch", *SINGLE)]
OTHER_LOSSES = [n for n, p in PARAMS["losses"].items() if p["fn"] in SINGLE]
COMBOS = [*itertools.product(DATA, GAN_LOSSES, PARAMS["tricks"]), *itertools.product(DATA, OTHER_LOSSES, ["none"])]
# combinations a trick refuses, with the start of its one-line reason
REFUSED = {("wgan", "unrolled"): "unrolled: second_order cannot differentiate through the in-place D updates of weight_clip"}
# tricks an architecture cannot take (the 2-D MLP's G has no batch norm to virtualise)
ARCH_REFUSED = {("mlp2d", "vbn"): "virtual_batch_norm: the generator has no batch-norm layer"}


@pytest.mark.parametrize("arch,loss,trick", COMBOS, ids=["-".join(c) for c in COMBOS])
def test_one_iteration(arch, loss, trick):
    data = DATA[arch]
    refused = REFUSED.get((loss, trick)) or ARCH_REFUSED.get((arch, trick))
    if refused:
        with pytest.raises(ConfigError, match=refused):
            make_trainer(tiny_config(arch, loss, trick), data)
        return
    trainer = make_trainer(tiny_config(arch, loss, trick), data)
    g_before = [p.detach().clone() for p in trainer.g.parameters()]
    d_before = [p.detach().clone() for p in trainer.d.parameters()]
    stats = trainer.iteration()
    assert trainer.step == 1
    assert stats and all(torch.isfinite(v).all() for v in stats.values()), stats
    assert any(not torch.equal(a, b) for a, b in zip(g_before, trainer.g.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d_before, trainer.d.parameters()))
    sample = trainer.sampling_generator()(torch.randn(4, 8))
    assert sample.shape == (4, *data.shape) and torch.isfinite(sample).all()


STABILISATION = {
    "label_smoothing", "noisy_labels", "instance_noise", "spectral_norm", "gradient_penalty", "r1", "weight_clip",
    "ema", "mbstd", "mbdisc", "feature_matching", "unrolled", "pacgan", "replay", "grad_clip", "lr_schedule",
    "d_dropout", "consistency", "diffaugment",
}


def test_every_stabilisation_trick_has_a_preset():
    """So that the grid test above runs each trick module (architecture-specific tricks such as
    AC-GAN's auxiliary loss are tested with their families)."""
    assert STABILISATION <= set(TRICKS.names())
    used = set()
    for preset in PARAMS["tricks"].values():
        used |= {t.name for t in build_tricks({k: v for k, v in preset.items() if k != "train"})}
    for loss in PARAMS["losses"].values():
        used |= {t.name for t in build_tricks(loss.get("tricks") or {})}
    assert STABILISATION <= used
