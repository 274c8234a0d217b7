"""The new families, tricks and trainers resume bit-exactly: a run stopped after 3 steps and resumed from its
checkpoint file (weights_only load) ends where the uninterrupted 6-step run ends (CPU, same seed)."""

from __future__ import annotations

import copy

import pytest
import torch

import tricks_util
from gangrid.io import load_torch, save_torch
from gangrid.nets import DataSpec
from test_tricks_resume import assert_same_state
from tricks_util import PARAMS, make_trainer, tiny_config
from translation_util import one_thread  # noqa: F401  (autouse: tiny nets run fastest on one thread)

IMG = DataSpec("image", (1, 16, 16), 10)
tricks_util.TINY_ARCH.update({
    "ebgan16": {"g_ch": 4, "d_ch": 4, "code_dim": 4}, "began16": {"ch": 4, "code_dim": 4},
    "lapgan16": {"g_ch": 4, "d_ch": 4, "hidden": 8},
    "stylegan2_16": {"g_ch": 4, "d_ch": 4, "max_ch": 8, "w_dim": 8, "mapping_layers": 2},
    "aae16": {"g_ch": 4, "d_ch": 4, "d_hidden": 8}, "bigan16": {"g_ch": 4, "d_ch": 4, "d_hidden": 8},
    "srgan16": {"g_ch": 4, "blocks": 1, "d_ch": 4, "d_hidden": 8, "content": "pixel", "pretrain": 0.34},
})


def resumed_equals_straight(tmp_path, build, sample) -> None:
    """6 iterations straight vs 3, checkpoint to disk, a differently seeded rebuild, load, 3 more."""
    full = build(0)
    for _ in range(6):
        full.iteration()
    first = build(0)
    for _ in range(3):
        first.iteration()
    save_torch(tmp_path / "ckpt.pt", first.state_dict())
    resumed = build(123)
    resumed.load_state_dict(load_torch(tmp_path / "ckpt.pt"))
    for _ in range(3):
        resumed.iteration()
    assert resumed.step == full.step == 6
    assert_same_state(full.state_dict(), resumed.state_dict())
    torch.manual_seed(5)
    a = sample(full.sampling_generator())
    torch.manual_seed(5)
    assert torch.equal(a, sample(resumed.sampling_generator()))


@pytest.mark.parametrize("arch,loss,tricks", [
    ("ebgan16", "paper", {}),
    ("began16", "paper", {"began": {"lambda_k": 0.5}}),
    ("lapgan16", "ns", {}),
    ("stylegan2_16", "ns", {"r1": {"gamma": 1.0, "every": 2}, "path_length": {"every": 2}}),
    ("dcgan16", "ns", {"historical_averaging": {"weight": 0.1}, "virtual_batch_norm": {"reference": 4}}),
], ids=["ebgan", "began", "lapgan", "stylegan2", "ha+vbn"])
def test_gan_families_and_tricks_resume_bit_exactly(tmp_path, arch, loss, tricks):
    cfg = tiny_config(arch, loss, "none", steps=6)
    cfg["tricks"].update(tricks)

    def build(seed):
        return make_trainer(copy.deepcopy(cfg), IMG, seed=seed)

    resumed_equals_straight(tmp_path, build, lambda g: g(torch.randn(4, 8)))


def encoder_trainer(arch: str, seed: int, tricks: dict | None = None, steps: int = 6):
    from gangrid.kinds.encoder.trainer import TRAINERS

    params = copy.deepcopy(PARAMS)
    params["studies"] = {"t": {"kind": "encoder", "datasets": ["digits"], "archs": [arch], "losses": ["paper"],
                               "tricks": ["none"], "seeds": [0], "baseline": {}}}
    cfg = tiny_config(arch, "paper", "none", params=params, steps=steps)
    cfg["tricks"].update({"ema": {"decay": 0.5}} if tricks is None else tricks)
    torch.manual_seed(seed)
    trainer = TRAINERS[cfg["arch"]["family"]](cfg, IMG)
    trainer.attach_data(tricks_util.fake_data(IMG), None, seed=0)
    return trainer


@pytest.mark.parametrize("arch", ["aae16", "bigan16"])
def test_encoder_trainers_resume_bit_exactly(tmp_path, arch):
    resumed_equals_straight(tmp_path, lambda seed: encoder_trainer(arch, seed),
                            lambda g: torch.cat([g(g.sample_latent(3)).flatten(1), g.encode(torch.rand(3, 1, 16, 16)).flatten(1)], 1))


def test_superres_trainer_resumes_bit_exactly_across_the_srresnet_and_gan_phases(tmp_path):
    from gangrid.kinds.superres.trainer import SuperResTrainer

    params = copy.deepcopy(PARAMS)
    params["studies"] = {"t": {"kind": "superres", "datasets": ["digits_sr"], "archs": ["srgan16"], "losses": ["paper"],
                               "tricks": ["none"], "seeds": [0], "baseline": {}}}
    cfg = tiny_config("srgan16", "paper", "none", params=params, steps=6)
    data = DataSpec("superres", (1, 16, 16), 10)
    hr = (tricks_util.fake_data(data) * 127.5 + 127.5).round().to(torch.uint8)
    lr = hr[:, :, ::2, ::2].contiguous()

    def build(seed):
        torch.manual_seed(seed)
        trainer = SuperResTrainer(copy.deepcopy(cfg), data, 2)
        trainer.attach_data(lr, hr, seed=0)
        return trainer

    assert build(0).pretrain_steps == 2  # steps 0-1 SRResNet (MSE), then SRGAN
    resumed_equals_straight(tmp_path, build, lambda g: g(torch.rand(2, 1, 8, 8)))


@pytest.mark.parametrize("arch", ["aae16", "bigan16"])
def test_a_learning_rate_schedule_drives_every_optimiser_of_the_encoder_trainers(arch):
    """The linear decay reaches each optimiser: G's side (for AAE: the reconstruction and the encoder's adversarial
    optimiser) at train.lr_g times the factor, D's at train.lr_d times it."""
    trainer = encoder_trainer(arch, 0, {"lr_schedule": {"kind": "linear", "start": 0.5}}, steps=4)
    base = {"g": trainer.config["train"]["lr_g"], "d": trainer.config["train"]["lr_d"]}
    sides = [side for _, side in trainer.optimizers()]
    assert sides == (["g", "d", "g"] if arch == "aae16" else ["g", "d"])
    for factor in (1.0, 1.0, 1.0, 0.5):
        assert [opt.param_groups[0]["lr"] for opt, _ in trainer.optimizers()] == pytest.approx([base[s] * factor for s in sides])
        trainer.iteration()
