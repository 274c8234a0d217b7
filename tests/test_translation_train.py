"""The translation loop and objective terms: pool semantics, identity direction, LR decay, steps, resume."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from gangrid.errors import ConfigError
from gangrid.kinds.gan.trainer import GanTrainer
from gangrid.tricks.translation import Cycle, Identity, ImagePool, L1Target, TBatch
from translation_util import CYCLE_TERMS, P2P_TERMS, PAIRED, UNPAIRED, make_trainer, one_thread, tiny_config  # noqa: F401

from tricks_util import tiny_config as gan_config


# --- image pool -----------------------------------------------------------------------------------

def images(values, size: int = 2) -> torch.Tensor:
    """One (1, size, size) image per value, filled with that value."""
    return torch.tensor(values, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 1, size, size).clone()


def ids(batch: torch.Tensor) -> list[float]:
    return [float(x) for x in batch[:, 0, 0, 0]]


def test_pool_returns_new_images_while_filling_and_counts_images_not_batches():
    pool = ImagePool(size=5, p=1.0)
    assert ids(pool.query(images([1, 2]))) == [1, 2] and pool.count == 2
    assert ids(pool.query(images([3, 4]))) == [3, 4] and pool.count == 4
    torch.manual_seed(0)
    out = ids(pool.query(images([5, 6, 7])))  # 5 fills the last slot; 6 and 7 are swapped (p = 1)
    assert out[0] == 5 and pool.count == 5
    assert set(out[1:]) <= {1, 2, 3, 4, 5} and len(set(out[1:])) == 2  # distinct stored images
    stored = set(ids(pool.images))
    assert {6, 7} <= stored and stored | set(out[1:]) == {1, 2, 3, 4, 5, 6, 7}


def test_pool_with_p0_returns_new_images_and_keeps_its_content():
    pool = ImagePool(size=3, p=0.0)
    pool.query(images([1, 2, 3]))
    assert ids(pool.query(images([4, 5]))) == [4, 5]
    assert sorted(ids(pool.images)) == [1, 2, 3]


def test_pool_swaps_each_image_with_probability_p():
    torch.manual_seed(0)
    pool = ImagePool(size=50, p=0.5)
    pool.query(images(list(range(50))))
    swapped = total = 0
    for step in range(200):
        new = images([1000 + step * 10 + i for i in range(10)])
        out = pool.query(new)
        swapped += sum(o < 1000 or o != n for o, n in zip(ids(out), ids(new)))
        total += 10
        assert len(set(ids(pool.images))) == 50  # a swap moves images, never duplicates them
    assert abs(swapped / total - 0.5) < 4 * (0.25 / total) ** 0.5


def test_pool_of_size_zero_is_off():
    x = images([1, 2])
    assert torch.equal(ImagePool(0).query(x), x)


# --- objective terms --------------------------------------------------------------------------------

class Recorder(nn.Module):
    """y = scale * x + shift, remembering its inputs."""

    def __init__(self, scale: float, shift: float) -> None:
        super().__init__()
        self.scale, self.shift, self.inputs = scale, shift, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x)
        return self.scale * x + self.shift


class FakeHooks:
    def __init__(self, **tricks):
        self.tricks = tricks

    def get(self, name):
        return self.tricks.get(name)


class FakeTrainer:
    is_translation = True

    def __init__(self, **tricks):
        self.g = nn.ModuleDict({"ab": Recorder(1.0, 0.1), "ba": Recorder(0.5, 0.0)})
        self.hooks = FakeHooks(**tricks)
        self.config = {"run": {"name": "t"}}


def batch() -> TBatch:
    a = torch.full((2, 1, 4, 4), 0.8)
    b = torch.full((2, 1, 4, 4), -0.4)
    return TBatch(a=a, b=b, paired=True, fake={"ab": a + 0.1, "ba": 0.5 * b})


def test_identity_feeds_b_to_g_and_a_to_f():
    cycle = Cycle(weight=10.0)
    trainer = FakeTrainer(cycle=cycle)
    term = Identity(weight=0.5)
    term.setup(trainer)
    t = batch()
    value = float(term.g_terms(trainer, t)["identity"])
    assert trainer.g["ab"].inputs[0] is t.b and trainer.g["ba"].inputs[0] is t.a
    # 0.5 * 10 * (|G(b) - b| + |F(a) - a|) = 5 * (0.1 + 0.5 * 0.8); the swapped texts' version would give 5 * (0.1 + 0.2)
    assert value == pytest.approx(5 * (0.1 + 0.4))


def test_cycle_and_l1_terms_have_their_closed_forms():
    trainer = FakeTrainer()
    t = batch()
    # F(G(a)) = 0.5 (a + 0.1) -> |0.45 - 0.8| = 0.35; G(F(b)) = 0.5 b + 0.1 -> |-0.1 + 0.4| = 0.3
    assert float(Cycle(weight=10.0).g_terms(trainer, t)["cycle"]) == pytest.approx(10 * (0.35 + 0.3))
    assert float(L1Target(weight=100.0).g_terms(trainer, t)["l1"]) == pytest.approx(100 * abs(0.9 + 0.4))
    assert Cycle(weight=0.0).g_terms(trainer, t) == {}


def test_identity_needs_the_cycle_term():
    with pytest.raises(ConfigError, match="cycle"):
        Identity().setup(FakeTrainer())


# --- the loop ---------------------------------------------------------------------------------------

def params_of(net: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


@pytest.mark.parametrize("family, terms, keys", [
    ("pix2pix", P2P_TERMS, {"loss_d_ab", "loss_g_ab", "g_l1"}),
    ("cyclegan", CYCLE_TERMS, {"loss_d_ab", "loss_d_ba", "loss_g_ab", "loss_g_ba", "g_cycle", "g_identity"}),
])
def test_one_train_step_updates_every_net(family, terms, keys):
    trainer = make_trainer(tiny_config(family, terms))
    before = {name: params_of(net) for name, net in [*trainer.g.items(), *[("d" + k, v) for k, v in trainer.d.items()]]}
    stats = trainer.iteration()
    assert keys <= set(stats) and all(torch.isfinite(v) for v in stats.values())
    after = {name: params_of(net) for name, net in [*trainer.g.items(), *[("d" + k, v) for k, v in trainer.d.items()]]}
    for name in before:
        assert any(not torch.equal(x, y) for x, y in zip(before[name], after[name])), f"{name} did not change"
    assert trainer.step == 1


def test_pix2pix_discriminator_sees_input_output_pairs():
    trainer = make_trainer(tiny_config("pix2pix", P2P_TERMS))
    seen = []
    trainer.d["ab"].register_forward_pre_hook(lambda m, args: seen.append(args[0].shape))
    trainer.iteration()
    assert seen and all(s[1] == 2 for s in seen)  # concat(1-channel input, 1-channel image)
    assert "ab" in trainer.samplers  # paired batches


def test_cyclegan_draws_unpaired_batches_even_from_a_paired_set():
    trainer = make_trainer(tiny_config("cyclegan", CYCLE_TERMS))
    assert set(trainer.samplers) == {"a", "b"}


def test_a_trick_preset_adjusts_the_terms_its_arch_implies():
    cfg = tiny_config("cyclegan", CYCLE_TERMS, trick={"identity": {"weight": 0.0}, "image_pool": {"size": 0}})
    assert cfg["tricks"]["identity"] == {"weight": 0.0} and cfg["tricks"]["cycle"] == {"weight": 10.0}
    stats = make_trainer(cfg).iteration()
    assert "g_cycle" in stats and "g_identity" not in stats


def test_lr_is_constant_then_decays_linearly_to_zero():
    cfg = tiny_config("pix2pix", {**P2P_TERMS, "lr_schedule": {"kind": "linear", "start": 0.5, "end": 0.0}}, steps=8)
    trainer = make_trainer(cfg)
    seen = []
    for _ in range(8):
        seen.append((trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]))
        trainer.iteration()
    seen.append((trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]))
    expected = [2e-4] * 5 + [1.5e-4, 1e-4, 0.5e-4, 0.0]
    assert [g for g, _ in seen] == pytest.approx(expected) and [d for _, d in seen] == pytest.approx(expected)


def test_resume_is_bit_exact_with_pool_dropout_and_schedule():
    terms = {**CYCLE_TERMS, "lr_schedule": {"kind": "linear", "start": 0.5}}
    cfg = tiny_config("cyclegan", terms, arch={"g": "unet", "dropout": 0.5})
    straight = make_trainer(cfg)
    for _ in range(6):
        straight.iteration()
    first = make_trainer(cfg)
    for _ in range(3):
        first.iteration()
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    resumed = make_trainer(cfg, seed=123)  # different init: everything must come from the state
    resumed.load_state_dict(state)
    for _ in range(3):
        resumed.iteration()
    for x, y in zip(straight.state_dict()["g"].values(), resumed.state_dict()["g"].values()):
        assert torch.equal(x, y)
    for x, y in zip(straight.state_dict()["d"].values(), resumed.state_dict()["d"].values()):
        assert torch.equal(x, y)
    pools = straight.hooks.get("image_pool").pools, resumed.hooks.get("image_pool").pools
    assert all(torch.equal(pools[0][k].images, pools[1][k].images) for k in ("ab", "ba"))


@pytest.mark.parametrize("family, tricks, data, message", [
    ("pix2pix", P2P_TERMS, UNPAIRED, "needs a paired dataset"),
    ("cyclegan", {"l1_target": {}}, UNPAIRED, "l1_target"),
    ("pix2pix", {"cycle": {}}, PAIRED, "both generators"),
    ("cyclegan", {"replay": {"size": 8}}, PAIRED, "image_pool"),
])
def test_invalid_model_data_and_trick_combinations_are_config_errors(family, tricks, data, message):
    with pytest.raises(ConfigError, match=message):
        make_trainer(tiny_config(family, tricks), data)


def test_translation_terms_refuse_the_gan_loop():
    cfg = gan_config("dcgan16", "ns", "none")
    cfg["tricks"] = {"cycle": {"weight": 10.0}}
    with pytest.raises(ConfigError, match="kind: translation"):
        GanTrainer(cfg, PAIRED.__class__("image", (1, 16, 16), 10))


def test_gan_families_refuse_the_translation_loop():
    cfg = tiny_config("pix2pix", P2P_TERMS)
    cfg["arch"] = {"name": "dcgan16", "family": "dcgan", "base": 8}
    with pytest.raises(ConfigError, match="not an image-to-image family"):
        make_trainer(cfg)
