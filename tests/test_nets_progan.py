"""ProGAN: fade-in equals the old path at alpha=0 and the new path at alpha=1; the schedule;
the trick drives (stage, alpha) from the trainer step and survives a checkpoint round trip."""

from __future__ import annotations

import copy

import pytest
import torch

from gangrid.nets import DataSpec, build_nets
from gangrid.tricks.progressive import schedule
from gangrid.kinds.gan.trainer import GanTrainer

CFG = {"family": "progan", "name": "pg", "z_dim": 8, "g_ch": 4, "d_ch": 4, "max_ch": 16}
DATA = DataSpec("image", (1, 16, 16), 10)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny nets run fastest single-threaded (and do not fight other processes for cores)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def nets():
    torch.manual_seed(0)
    g, d = build_nets(CFG, DATA)
    return g.eval(), d.eval()


def at(net, stage, alpha, *args):
    net.set_progress(stage, alpha)
    return net(*args)


@pytest.mark.parametrize("stage", [1, 2])
def test_generator_fade_in_blends_the_old_and_the_new_path(stage):
    g, _ = nets()
    z = torch.randn(4, 8)
    with torch.no_grad():
        old = at(g, stage - 1, 1.0, z)  # previous resolution, upsampled to 16x16
        new = at(g, stage, 1.0, z)
        assert torch.equal(at(g, stage, 0.0, z), old)
        assert torch.allclose(torch.atanh(at(g, stage, 0.25, z)), 0.75 * torch.atanh(old) + 0.25 * torch.atanh(new), atol=1e-4)
        g.to_rgb[stage - 1].weight.add_(1.0)  # at alpha = 1 the old to_rgb no longer matters
        assert torch.equal(at(g, stage, 1.0, z), new)
        assert not torch.allclose(at(g, stage, 0.0, z), old)


@pytest.mark.parametrize("stage", [1, 2])
def test_discriminator_fade_in_blends_the_old_and_the_new_path(stage):
    _, d = nets()
    x = torch.rand(4, 1, 16, 16) * 2 - 1
    with torch.no_grad():
        old = at(d, stage - 1, 1.0, x).logits
        assert torch.allclose(at(d, stage, 0.0, x).logits, old, atol=1e-5)
        new = at(d, stage, 1.0, x).logits
        d.from_rgb[stage - 1].weight.add_(1.0)
        assert torch.equal(at(d, stage, 1.0, x).logits, new)


def test_generator_outputs_full_resolution_piecewise_constant_images_at_low_stages():
    g, _ = nets()
    with torch.no_grad():
        x = at(g, 0, 1.0, torch.randn(2, 8))
    assert x.shape == (2, 1, 16, 16)
    assert torch.equal(x, x[:, :, ::4, ::4].repeat_interleave(4, 2).repeat_interleave(4, 3))  # 4x4 content


@pytest.mark.parametrize("step,expected", [
    (0, (0, 1.0)), (99, (0, 1.0)),          # stage 0 (4x4): no fade
    (100, (1, 0.0)), (125, (1, 0.5)), (150, (1, 1.0)), (199, (1, 1.0)),
    (250, (2, 1.0)), (300, (2, 1.0)),       # past the end: last stage
])
def test_schedule_equal_stages_half_fade(step, expected):
    assert schedule(step, 300, 3, fade=0.5) == pytest.approx(expected)


def test_schedule_with_stage_weights():
    # weights 1:1:2 over 400 steps -> stages [0,100), [100,200), [200,400); full fade
    assert schedule(150, 400, 3, fade=1.0, weights=[1, 1, 2]) == pytest.approx((1, 0.5))
    assert schedule(300, 400, 3, fade=1.0, weights=[1, 1, 2]) == pytest.approx((2, 0.5))


def config(steps: int, **trick) -> dict:
    return {"run": {"name": "pg", "dataset": "x"}, "arch": dict(CFG), "loss": {"name": "ns", "fn": "ns"},
            "tricks": {"progressive": {"fade": 0.5, **trick}}, "seed": 0,
            "train": {"batch_size": 4, "z_dim": 8, "optimizer": "adam", "lr_g": 1e-3, "lr_d": 1e-3, "betas": [0.0, 0.99],
                      "n_critic": 1, "steps": steps}}


def test_trick_drives_the_stage_from_the_step_and_resumes():
    torch.manual_seed(0)
    t = GanTrainer(config(6), DATA)
    t.attach_data(torch.randint(0, 256, (16, 1, 16, 16), dtype=torch.uint8), None, seed=0)
    seen = []
    for _ in range(6):
        seen.append((t.g.current(), t.d.current()))
        t.iteration()
        if t.step == 3:
            state = copy.deepcopy(t.state_dict())  # (state_dict shares storage with the live nets)
    assert [g for g, d in seen] == [d for g, d in seen]
    assert [g for g, _ in seen] == [schedule(s, 6, 3, 0.5) for s in range(6)]
    resumed = GanTrainer(config(6), DATA)
    resumed.load_state_dict(state)
    assert resumed.g.current() == resumed.d.current() == schedule(3, 6, 3, 0.5)


def test_trick_rejects_non_progressive_architectures_and_wrong_weights():
    from gangrid.errors import ConfigError

    cfg = config(6)
    with pytest.raises(ConfigError, match="stage_weights has 2 entries but the architecture has 3"):
        GanTrainer(config(6, stage_weights=[1, 1]), DATA)
    cfg["arch"] = {"family": "dcgan", "name": "d", "base": 4}
    with pytest.raises(ConfigError, match="progressive needs a progressive architecture"):
        GanTrainer(cfg, DATA)


def test_fade_in_blends_the_reals_as_it_blends_the_fakes():
    """Issue 17, item 5: during a fade-in D sees reals lerp(up2(avgpool2(x_s)), x_s, alpha), x_s the reals at
    the stage's resolution (the paper's code, process_reals), exactly as G blends its two outputs."""
    torch.manual_seed(0)
    t = GanTrainer(config(12), DATA)  # 3 stages of 4 steps, fade 0.5: step 5 is stage 1 (8 px) at alpha 0.5
    t.step = 5
    assert schedule(5, 12, 3, 0.5) == (1, 0.5)
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    fake = torch.randn(2, 1, 16, 16)
    real_in, fake_in = t.hooks.d_inputs(t, x, fake)
    assert fake_in is fake
    x8 = torch.nn.functional.avg_pool2d(x, 2)  # the reals at 8 px
    x4 = torch.nn.functional.avg_pool2d(x8, 2)
    expected8 = 0.5 * x8 + 0.5 * x4.repeat_interleave(2, 2).repeat_interleave(2, 3)
    assert torch.allclose(torch.nn.functional.avg_pool2d(real_in, 2), expected8, atol=1e-6)  # what D's pooling sees
    assert torch.allclose(real_in, expected8.repeat_interleave(2, 2).repeat_interleave(2, 3), atol=1e-6)
    t.step = 7  # stage 1, alpha 1: no blending
    assert t.hooks.d_inputs(t, x, fake)[0] is x


def test_drift_penalty_known_value():
    """ProGAN's drift term: epsilon * E D(x)^2 over the real logits."""
    from gangrid.tricks import DBatch
    from gangrid.tricks.drift import Drift

    real_logits = torch.tensor([1.0, -3.0])
    batch = DBatch(torch.zeros(2, 1), torch.zeros(2, 1), real_logits, torch.zeros(2), torch.zeros(2, 1), torch.zeros(2, 1))
    assert Drift(epsilon=1e-3).d_penalties(None, batch)["drift"].item() == pytest.approx(1e-3 * 5.0)
