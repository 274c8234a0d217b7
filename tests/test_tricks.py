"""Unit tests with known values for the stabilisation tricks (src/gangrid/tricks/)."""

from __future__ import annotations

import copy
import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from gangrid.errors import ConfigError
from gangrid.losses import Targets
from gangrid.nets import DOut
from gangrid.nets.common import MinibatchDiscrimination
from gangrid.tricks import DBatch, Hooks, Trick, build_tricks
from gangrid.tricks._augment import color, cutout, hflip, translation
from gangrid.tricks.consistency import Consistency
from gangrid.tricks.diffaugment import DiffAugment
from gangrid.tricks.ema import ema_update
from gangrid.tricks.feature_matching import feature_matching
from gangrid.tricks.gradient_penalty import GradientPenalty, gradient_penalty
from gangrid.tricks.instance_noise import annealed_sigma
from gangrid.tricks.label_smoothing import LabelSmoothing
from gangrid.tricks.lr_schedule import lr_factor
from gangrid.tricks.mbstd import MinibatchStd
from gangrid.tricks.noisy_labels import NoisyLabels
from gangrid.tricks.pacgan import pack
from gangrid.tricks.r1 import R1
from gangrid.tricks.replay import ReplayBuffer
from gangrid.tricks.spectral_norm import apply_spectral_norm
from gangrid.tricks.unrolled import Unrolled

from tricks_util import DATA, make_trainer, tiny_config


class LinearCritic(nn.Module):
    """D(x) = <w, flatten(x)> + b: its input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w.flatten().clone())
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        flat = x.flatten(1)
        return DOut(flat @ self.w + self.b, flat)


def owner(d: nn.Module) -> SimpleNamespace:
    return SimpleNamespace(d=d, device=torch.device("cpu"))


# --- gradient penalty and R1 -------------------------------------------------------


def test_gradient_penalty_of_a_linear_critic_uses_flattened_per_sample_norms():
    w = torch.tensor([[1.0, 2.0], [2.0, 4.0]])  # ||w|| = 5
    critic = LinearCritic(w)
    real, fake = torch.randn(6, 1, 2, 2), torch.randn(6, 1, 2, 2)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx((5.0 - 1.0) ** 2)
    # a norm(2, dim=1) over channels would give mean((|w_ij| - 1)^2) = 2.75 here
    assert gradient_penalty(critic, real, fake, center=0.0).item() == pytest.approx(25.0)
    trick = GradientPenalty(weight=10.0)
    batch = DBatch(real, fake, *(torch.zeros(6),) * 4)
    assert trick.d_penalties(owner(critic), batch)["gp"].item() == pytest.approx(160.0)


def test_gradient_penalty_is_differentiable_in_the_critic_weights():
    critic = LinearCritic(torch.tensor([3.0, 4.0]))
    gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2)).backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 2 * 4 * w / 5
    assert torch.allclose(critic.w.grad, torch.tensor([3.0, 4.0]) * 8 / 5)


def test_gradient_penalty_interpolates_between_real_and_fake():
    class Recorder(nn.Module):
        def forward(self, x, y=None):
            self.x = x.detach()
            return DOut(x.sum((1, 2, 3)), x.flatten(1))

    rec = Recorder()
    real, fake = torch.full((500, 1, 2, 2), 1.0), torch.full((500, 1, 2, 2), -1.0)
    gradient_penalty(rec, real, fake)
    a = (rec.x[:, 0, 0, 0] + 1) / 2  # x_hat = a * 1 + (1 - a) * (-1)
    assert (rec.x == rec.x[:, :1, :1, :1]).all()  # one a per sample
    assert a.min() >= 0 and a.max() <= 1 and abs(a.mean().item() - 0.5) < 0.05


def test_gradient_penalty_replaces_batchnorm_in_the_critic():
    cfg = tiny_config("dcgan16", "wgan_gp", "none")
    trainer = make_trainer(cfg, DATA["dcgan16"])
    assert not any(isinstance(m, nn.BatchNorm2d) for m in trainer.d.modules())
    assert any(isinstance(m, nn.GroupNorm) for m in trainer.d.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in trainer.g.modules())  # G keeps its BN
    cfg["tricks"]["gradient_penalty"]["critic_norm"] = "keep"
    assert any(isinstance(m, nn.BatchNorm2d) for m in make_trainer(cfg, DATA["dcgan16"]).d.modules())


def test_r1_of_known_critics():
    trick = R1(gamma=10.0)
    critic = LinearCritic(torch.tensor([3.0, 4.0]))
    real, fake = trick.d_inputs(None, torch.randn(5, 2), torch.randn(5, 2))
    assert real.requires_grad and not fake.requires_grad
    out = critic(real)
    batch = DBatch(real, fake, out.logits, torch.zeros(5), out.features, out.features)
    assert trick.d_penalties(owner(critic), batch)["r1"].item() == pytest.approx(0.5 * 10 * 25)

    class Quadratic(nn.Module):  # D(x) = sum x^2: grad 2x, so R1 = gamma/2 * E 4||x||^2
        def forward(self, x, y=None):
            return DOut((x**2).flatten(1).sum(1), x.flatten(1))

    x = torch.tensor([[1.0, 2.0], [0.0, 3.0]]).view(2, 1, 1, 2)
    real, _ = trick.d_inputs(None, x, x)
    out = Quadratic()(real)
    batch = DBatch(real, x, out.logits, out.logits, out.features, out.features)
    assert trick.d_penalties(owner(Quadratic()), batch)["r1"].item() == pytest.approx(5 * 4 * (5 + 9) / 2)


# --- spectral norm -----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("make_layer", [lambda: nn.Linear(10, 20), lambda: nn.Conv2d(3, 8, 3),
                                        lambda: nn.ConvTranspose2d(8, 4, 4)], ids=["linear", "conv", "convT"])
def test_spectral_norm_largest_singular_value_is_one(make_layer, seed):
    torch.manual_seed(seed)  # the layer is built here, not at collection time (whose RNG state varies)
    layer = make_layer()
    with torch.no_grad():
        layer.weight.mul_(5.0)
    net = apply_spectral_norm(nn.Sequential(layer))
    x = torch.randn(2, 10) if isinstance(layer, nn.Linear) else torch.randn(2, layer.in_channels, 6, 6)
    for _ in range(200):  # one power iteration per training forward pass (converges at rate sigma_2 / sigma_1)
        net(x)
    w = layer.weight.detach()
    matrix = w.transpose(0, 1) if isinstance(layer, nn.ConvTranspose2d) else w
    sigma = torch.linalg.matrix_norm(matrix.reshape(matrix.shape[0], -1), ord=2).item()
    assert sigma == pytest.approx(1.0, abs=1e-3)


def test_spectral_norm_trick_wraps_d_and_optionally_g():
    for generator in (False, True):
        cfg = tiny_config("mlp2d", "ns", "sn_g" if generator else "sn")
        trainer = make_trainer(cfg, DATA["mlp2d"])
        assert all(hasattr(m, "parametrizations") for m in trainer.d.modules() if isinstance(m, nn.Linear))
        assert any(hasattr(m, "parametrizations") for m in trainer.g.modules()) == generator


def test_spectral_norm_leaves_d_without_batch_norm_as_in_the_paper():
    """Miyato et al. 2018's spectrally normalised discriminators have no batch norm (Table 3: BN in G only), so
    `sn` on DCGAN (whose D has batch norms) drops D's, keeps G's, and `d_batch_norm: true` keeps D's too."""
    from torch.nn.modules.batchnorm import _BatchNorm

    def batch_norms(net):
        return sum(isinstance(m, _BatchNorm) for m in net.modules())

    plain = make_trainer(tiny_config("dcgan16", "ns", "none"), DATA["dcgan16"])
    assert batch_norms(plain.d) > 0 and batch_norms(plain.g) > 0
    sn = make_trainer(tiny_config("dcgan16", "ns", "sn"), DATA["dcgan16"])
    assert batch_norms(sn.d) == 0 and batch_norms(sn.g) == batch_norms(plain.g)
    assert all(hasattr(m, "parametrizations") for m in sn.d.modules() if isinstance(m, nn.Conv2d))
    kept = tiny_config("dcgan16", "ns", "sn")
    kept["tricks"]["spectral_norm"]["d_batch_norm"] = True
    assert batch_norms(make_trainer(kept, DATA["dcgan16"]).d) == batch_norms(plain.d)
    sn.iteration()  # trains without them


@pytest.mark.parametrize("arch", ["proj16", "biggan16"])
def test_spectral_norm_covers_the_discriminators_class_embedding(arch):
    """Issue 17, item 4: the projection discriminator's (and BigGAN's) class embedding is spectrally
    normalised, as in the SNGAN-projection reference code; G's embeddings are left alone."""
    from gangrid.config import RunSpec, resolve_run
    from gangrid.kinds.gan.trainer import GanTrainer
    from gangrid.nets import DataSpec
    from tricks_util import PARAMS

    params = copy.deepcopy(PARAMS)
    params["studies"] = {"t": {"datasets": ["digits"], "archs": [arch], "losses": ["ns"], "tricks": ["none"],
                               "seeds": [0], "baseline": {}, "train": {}}}
    cfg = resolve_run(params, RunSpec("t", "digits", arch, "ns", "none", 0))
    cfg["arch"].update(g_ch=8, d_ch=8)
    torch.manual_seed(0)
    trainer = GanTrainer(cfg, DataSpec("image", (1, 16, 16), 10))
    embeddings = [m for m in trainer.d.modules() if isinstance(m, nn.Embedding)]
    assert embeddings and all(hasattr(m, "parametrizations") for m in embeddings)
    assert not any(hasattr(m, "parametrizations") for m in trainer.g.modules() if isinstance(m, nn.Embedding))
    for m in embeddings:
        for _ in range(100):  # one power iteration per access in training mode (as per D forward)
            weight = m.weight
        assert torch.linalg.matrix_norm(weight.detach(), ord=2).item() == pytest.approx(1.0, abs=1e-3)


# --- labels -----------------------------------------------------------------------


def test_label_smoothing_targets():
    assert LabelSmoothing().d_targets(None, Targets(), 8) == Targets(0.9, 0.0)
    two = build_tricks({"label_smoothing": {"real": 0.9, "fake": 0.1}})[0].d_targets(None, Targets(), 8)
    assert two.real == pytest.approx(0.9) and two.fake == pytest.approx(0.1)  # not torch.zeros(n) * 0.1 == 0


def test_two_sided_smoothing_preset_reaches_the_loss():
    trainer = make_trainer(tiny_config("mlp2d", "ns", "ls2"), DATA["mlp2d"])
    targets = trainer.hooks.d_targets(trainer, 8)
    assert (targets.real, targets.fake) == (pytest.approx(0.9), pytest.approx(0.1))


def test_noisy_labels_flip_and_noise():
    owner_ = SimpleNamespace(device=torch.device("cpu"))
    t = NoisyLabels(flip=1.0).d_targets(owner_, Targets(0.9, 0.0), 5)
    assert torch.allclose(t.real, torch.zeros(5)) and torch.allclose(t.fake, torch.full((5,), 0.9))
    t = NoisyLabels(flip=0.0).d_targets(owner_, Targets(), 5)
    assert torch.equal(t.real, torch.ones(5)) and torch.equal(t.fake, torch.zeros(5))
    torch.manual_seed(0)
    n = 20000
    t = NoisyLabels(flip=0.3).d_targets(owner_, Targets(), n)
    # binomial(n, 0.3): std 0.0032, tolerance ~5 std
    assert abs((t.real == 0).float().mean().item() - 0.3) < 0.016
    assert abs((t.fake == 1).float().mean().item() - 0.3) < 0.016
    t = NoisyLabels(flip=0.0, noise=0.2).d_targets(owner_, Targets(), n)
    assert t.real.min() >= 0.8 and t.real.max() <= 1.0 and t.fake.min() >= 0.0 and t.fake.max() <= 0.2
    assert t.real.std() > 0


# --- EMA --------------------------------------------------------------------------


def test_ema_update_known_values():
    target, source = nn.Linear(2, 1), nn.Linear(2, 1)
    bn_t, bn_s = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    with torch.no_grad():
        for p in target.parameters():
            p.zero_()
        for p in source.parameters():
            p.fill_(1.0)
        bn_s.running_mean.fill_(7.0)
    ema_update(target, source, decay=0.9)
    assert all(torch.allclose(p, torch.full_like(p, 0.1)) for p in target.parameters())
    ema_update(target, source, decay=0.9)
    assert all(torch.allclose(p, torch.full_like(p, 0.19)) for p in target.parameters())
    ema_update(bn_t, bn_s, decay=0.9)
    assert torch.equal(bn_t.running_mean, bn_s.running_mean)  # buffers are copied, not averaged


def test_ema_trick_samples_from_the_average():
    trainer = make_trainer(tiny_config("mlp2d", "ns", "ema"), DATA["mlp2d"])
    ema = trainer.hooks.get("ema")
    g0 = [p.detach().clone() for p in trainer.g.parameters()]
    trainer.iteration()
    assert ema.hp["warmup"] is True  # the params.yaml preset: first update keeps min(0.999, 1/10) of the old
    for e, p0, p1 in zip(ema.g_ema.parameters(), g0, trainer.g.parameters()):
        assert torch.allclose(e, 0.1 * p0 + 0.9 * p1.detach(), atol=1e-7)
    assert trainer.sampling_generator() is ema.g_ema and not ema.g_ema.training


def test_ema_decay_schedule():
    from gangrid.tricks.ema import ema_decay

    assert ema_decay(0.999, -1, warmup=True) == 0.0 and ema_decay(0.999, -5, warmup=False) == 0.0  # before start
    assert ema_decay(0.999, 0, warmup=False) == 0.999
    assert [ema_decay(0.999, t, warmup=True) for t in (0, 1, 90)] == [0.1, 2 / 11, 0.91]
    assert ema_decay(0.999, 10**6, warmup=True) == 0.999  # the cap
    # after 1000 steps without warm-up, the initial weights still carry 0.999^1000 = 37% of the average
    assert 0.999 ** 1000 == pytest.approx(0.368, abs=1e-3)


# --- unrolled GAN -----------------------------------------------------------------


def _tensor_tree_equal(a, b) -> bool:
    if torch.is_tensor(a):
        return torch.is_tensor(b) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_tensor_tree_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_tensor_tree_equal(x, y) for x, y in zip(a, b))
    return a == b


def _state_of(trainer) -> dict:
    """Everything the look-ahead could touch, copied."""
    trick = trainer.hooks.get("replay")
    fm = trainer.hooks.get("feature_matching")
    return copy.deepcopy({
        "d": trainer.d.state_dict(), "opt_d": trainer.opt_d.state_dict(), "g": trainer.g.state_dict(),
        "d_grads": [p.grad for p in trainer.d.parameters()], "sampler": trainer.sampler.state_dict(),
        "last": (trainer.last_real, trainer.last_y), "replay": trick.state_dict() if trick else None,
        "fm": fm.real if fm else None})


@pytest.mark.parametrize("arch,extra,second_order", [
    ("mlp2d", {"replay": {"size": 16, "p": 0.5}, "feature_matching": {}}, True),
    ("mlp2d", {"replay": {"size": 16, "p": 0.5}, "feature_matching": {}}, False),
    ("mlp2d", {"spectral_norm": {}, "diffaugment": {}, "g_norm": "batch"}, True),  # G with BatchNorm
    ("mlp2d", {"spectral_norm": {}, "diffaugment": {}, "g_norm": "batch"}, False),
    ("stylegan16", {}, True),  # G with w_avg
])
def test_unrolled_look_ahead_leaves_no_trace(arch, extra, second_order):
    """Issue 17, item 1: D's weights, buffers, gradients and optimiser state, G's buffers (BatchNorm
    statistics, StyleGAN's w_avg), the data sampler, the replay buffer and feature matching's real batch
    are as they were once the G step's context closes; inside it, G is trained against a different D."""
    if arch == "stylegan16":
        from gangrid.config import RunSpec, resolve_run
        from tricks_util import PARAMS

        params = copy.deepcopy(PARAMS)
        params["studies"] = {"t": {"datasets": ["digits"], "archs": [arch], "losses": ["ns"], "tricks": ["unrolled"],
                                   "seeds": [0], "baseline": {}, "train": {}}}
        cfg = resolve_run(params, RunSpec("t", "digits", arch, "ns", "unrolled", 0))
        cfg["arch"].update(g_ch=4, d_ch=4, max_ch=8, w_dim=8, mapping_layers=2)
        cfg["train"].update(batch_size=8, z_dim=8, steps=4)
        cfg["tricks"] = {"unrolled": {"k": 2}}
        data = DATA["dcgan16"]
    else:
        cfg, data = tiny_config(arch, "ns", "unrolled"), DATA[arch]
        if "g_norm" in extra:
            cfg["arch"]["g_norm"] = extra["g_norm"]
        cfg["tricks"].update({k: v for k, v in extra.items() if k != "g_norm"})
    cfg["tricks"]["unrolled"]["second_order"] = second_order
    trainer = make_trainer(cfg, data)
    for _ in range(3 if "replay" in extra else 1):  # fill the replay buffer (16 = 2 batches) first
        trainer.iteration()
    trainer.d_step()
    z = trainer.sample_z(8)
    fake = trainer.g(z, None)
    before = _state_of(trainer)
    probe = torch.randn(8, *data.shape)
    with torch.no_grad():
        d_before = trainer.d.eval()(probe).logits
        trainer.d.train()
    with trainer.hooks.g_step_context(trainer, fake, z, None):
        with torch.no_grad():
            d_inside = trainer.d.eval()(probe).logits
            trainer.d.train()
    assert not torch.allclose(d_inside, d_before)
    _tensor_tree_equal(_state_of(trainer), before) or pytest.fail("the look-ahead left a trace")


def test_unrolled_iteration_runs_one_g_forward():
    """The look-ahead reuses the iteration's fakes: no extra G forward in train mode (whose BatchNorm
    statistics and w_avg updates would stay) and no extra real batch drawn."""
    trainer = make_trainer(tiny_config("dcgan16", "ns", "unrolled_fo"), DATA["dcgan16"])
    calls = []
    trainer.g.register_forward_hook(lambda *a: calls.append(1))
    pos = trainer.sampler.pos
    trainer.iteration()
    assert len(calls) == 1 and trainer.sampler.pos == pos + 8


def _toy(second_order: bool, k: int, lr: float):
    """A 2-D toy whose unrolled objective is known in closed form: G(z) = theta (a point), D(x) = <w, x> + b,
    Wasserstein loss, D trained by plain SGD with rate lr."""
    from gangrid.losses import get_loss
    from gangrid.training.base import make_optimizer

    cfg = tiny_config("mlp2d", "ns", "unrolled", optimizer="sgd", lr=lr, betas=[0.0, 0.999])
    cfg["tricks"]["unrolled"].update(k=k, second_order=second_order)
    trainer = make_trainer(cfg, DATA["mlp2d"])

    class Point(nn.Module):
        def __init__(self):
            super().__init__()
            self.theta = nn.Parameter(torch.tensor([0.3, -0.7]))

        def forward(self, z, y=None):
            return self.theta.expand(len(z), 2)

    trainer.g, trainer.d = Point(), LinearCritic(torch.tensor([0.5, 0.2]))
    trainer.opt_g = make_optimizer(trainer.g.parameters(), "sgd", lr, [0.0, 0.999])
    trainer.opt_d = make_optimizer(trainer.d.parameters(), "sgd", lr, [0.0, 0.999])
    trainer._d_param_cache = None
    trainer.loss = get_loss("wasserstein")
    trainer.hooks.get("unrolled").setup(trainer)
    return trainer


@pytest.mark.parametrize("second_order", [True, False], ids=["second_order", "first_order"])
def test_unrolled_gradient_of_a_known_toy(second_order):
    """D(x) = <w, x> + b, G = theta, Wasserstein loss, SGD at rate eta: w_K = w - K eta (theta - mu_real), and
    G's loss -<w_K, theta> has gradient -w + K eta (2 theta - mu_real) (the paper's), whose first-order part
    (G's gradient through the K-th D's weights alone) is -w_K = -w + K eta (theta - mu_real)."""
    k, eta = 3, 0.1
    trainer = _toy(second_order, k, eta)
    real, _ = trainer.real_batch()
    z = trainer.sample_z(8)
    fake = trainer.g(z, None)
    w, theta, mu = trainer.d.w.detach().clone(), trainer.g.theta.detach().clone(), real.mean(0)
    with trainer.hooks.g_step_context(trainer, fake, z, None):
        trainer.g_step(fake, z, None)
    expected = -w + k * eta * ((2 * theta if second_order else theta) - mu)
    assert torch.allclose(trainer.g.theta.grad, expected, atol=1e-6)
    assert torch.equal(trainer.d.w.detach(), w)  # D itself is untouched


def test_unrolled_second_order_gradient_equals_finite_differences():
    """On the 2-D mixture MLPs (float64, Adam from a non-empty state, K = 3, ns loss): the gradient G gets equals
    central finite differences of the unrolled objective theta_G -> f(theta_G, theta_D^K(theta_G)), where
    theta_D^K is computed by torch's own Adam on a copy of D (an implementation independent of the trick's)."""
    from gangrid.losses import Targets

    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        cfg = tiny_config("mlp2d", "ns", "unrolled")
        cfg["arch"]["hidden"] = 8
        cfg["tricks"]["unrolled"]["k"] = 3
        trainer = make_trainer(cfg, DATA["mlp2d"])
        trainer.samplers["x"].x = trainer.sampler.x.double()
        trainer.d_step()  # the unroll starts from a non-empty Adam state
        real = trainer.last_real
        z = trainer.sample_z(8)
        d_state, opt_state = copy.deepcopy(trainer.d.state_dict()), copy.deepcopy(trainer.opt_d.state_dict())
        g_params = [p.detach().clone() for p in trainer.g.parameters()]

        def objective(g_values) -> float:
            g, d = copy.deepcopy(trainer.g), copy.deepcopy(trainer.d)
            with torch.no_grad():
                for p, v in zip(g.parameters(), g_values):
                    p.copy_(v)
            d.load_state_dict(d_state)
            opt = torch.optim.Adam(d.parameters(), foreach=False)
            opt.load_state_dict(copy.deepcopy(opt_state))  # (loading shares the state's tensors)
            with torch.no_grad():
                fake = g(z, None)
            for _ in range(3):
                opt.zero_grad()
                trainer.loss.d(d(real).logits, d(fake).logits, Targets()).backward()
                opt.step()
            with torch.no_grad():
                return trainer.loss.g(d(fake).logits).item()

        fake = trainer.g(z, None)
        with trainer.hooks.g_step_context(trainer, fake, z, None):
            trainer.g_step(fake, z, None)
        grads = [p.grad for p in trainer.g.parameters()]
        gen = torch.Generator().manual_seed(0)
        h = 1e-6
        for i in (0, len(g_params) // 2, len(g_params) - 1):  # first, middle and last layer
            for j in torch.randperm(g_params[i].numel(), generator=gen)[:2].tolist():
                plus, minus = [t.clone() for t in g_params], [t.clone() for t in g_params]
                plus[i].view(-1)[j] += h
                minus[i].view(-1)[j] -= h
                fd = (objective(plus) - objective(minus)) / (2 * h)
                assert grads[i].view(-1)[j].item() == pytest.approx(fd, rel=1e-5, abs=1e-8)
    finally:
        torch.set_default_dtype(default)


@pytest.mark.parametrize("name,hp", [("adam", {"lr": 1e-2, "betas": (0.5, 0.9)}), ("adam", {"lr": 1e-2, "weight_decay": 0.1}),
                                     ("rmsprop", {"lr": 1e-2}), ("sgd", {"lr": 1e-2, "momentum": 0.5}), ("sgd", {"lr": 1e-2})])
def test_differentiable_optimiser_steps_equal_torchs(name, hp):
    """The unrolled GAN's functional update rules give what torch's optimisers give, state included."""
    from gangrid.tricks._diffopt import functional_step

    cls = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}[name]
    torch.manual_seed(0)
    params = [nn.Parameter(torch.randn(3, 2)), nn.Parameter(torch.randn(4))]
    opt = cls(params, foreach=False, **hp)
    values, states = [p.detach().clone() for p in params], [{} for _ in params]
    for step in range(3):
        grads = [torch.randn_like(p) if step != 1 else torch.zeros_like(p) for p in params]
        grads[1] = None if step == 2 else grads[1]  # a parameter without a gradient is skipped
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
        values, states = functional_step(opt, values, params, grads, states)
        assert all(torch.allclose(v, p.detach(), atol=1e-6) for v, p in zip(values, params))


# --- PacGAN -----------------------------------------------------------------------


def test_pack_shapes_and_order():
    x = torch.arange(16.0).view(8, 2)
    p = pack(x, 2)
    assert p.shape == (4, 4) and torch.equal(p[1], torch.cat([x[2], x[3]]))
    img = torch.randn(8, 3, 16, 16)
    p = pack(img, 4)
    assert p.shape == (2, 12, 16, 16) and torch.equal(p[1, 3:6], img[5])


@pytest.mark.parametrize("arch,trick,m", [("mlp2d", "pacgan", 2), ("dcgan16", "pacgan", 2), ("dcgan16", "pacgan4", 4),
                                          ("mlp2d", "pacgan4", 4)])
def test_pacgan_discriminator_input_shapes(arch, trick, m):
    data = DATA[arch]
    trainer = make_trainer(tiny_config(arch, "ns", trick), data)
    first = next(mod for mod in trainer.d.modules() if isinstance(mod, (nn.Linear, nn.Conv2d)))
    if arch == "mlp2d":
        assert first.in_features == 2 * m
    else:
        assert first.in_channels == m
    real, fake = trainer.hooks.d_inputs(trainer, torch.randn(8, *data.shape), torch.randn(8, *data.shape))
    assert real.shape == fake.shape == (8 // m, m * data.shape[0], *data.shape[1:])
    assert trainer.d(real).logits.shape == (8 // m,)
    assert trainer.hooks.g_inputs(trainer, torch.randn(8, *data.shape)).shape[0] == 8 // m


def test_pacgan_needs_a_batch_multiple_of_m():
    with pytest.raises(ConfigError, match="multiple of the pack size"):
        make_trainer(tiny_config("mlp2d", "ns", "pacgan4", batch_size=6), DATA["mlp2d"])


# --- replay buffer ----------------------------------------------------------------


@pytest.mark.parametrize("p", [0.5, 0.2])
def test_replay_buffer_swap_probability(p):
    torch.manual_seed(0)
    pool = ReplayBuffer(size=64, p=p)
    batch, old, total = 16, 0, 0
    for t in range(4):  # filling: fakes pass through unchanged
        fake = torch.full((batch, 2), float(t))
        assert torch.equal(pool.query(fake), fake)
    assert pool.count == 64
    for t in range(4, 504):
        fake = torch.full((batch, 2), float(t))
        before = pool.buffer.clone()
        out = pool.query(fake)
        # nothing is lost or duplicated: buffer-before + new == buffer-after + returned
        lhs = torch.cat([before[:, 0], fake[:, 0]]).sort().values
        rhs = torch.cat([pool.buffer[:, 0], out[:, 0]]).sort().values
        assert torch.equal(lhs, rhs)
        old += int((out[:, 0] < t).sum())
        total += batch
    # binomial(8000, p): std <= 0.0056; tolerance ~4 std
    assert abs(old / total - p) < 0.022


def test_replay_trick_only_changes_fakes_and_checks_its_size():
    trainer = make_trainer(tiny_config("mlp2d", "ns", "replay"), DATA["mlp2d"])
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    r, f = trainer.hooks.d_inputs(trainer, real, fake)
    assert r is real and torch.equal(f, fake)
    cfg = tiny_config("mlp2d", "ns", "replay")
    cfg["tricks"]["replay"]["size"] = 4
    with pytest.raises(ConfigError, match="replay.size 4 is smaller than train.batch_size 8"):
        make_trainer(cfg, DATA["mlp2d"])


# --- DiffAugment and consistency --------------------------------------------------


@pytest.mark.parametrize("policy", [["translation"], ["cutout"], ["color"], ["color", "translation", "cutout"]])
def test_diffaugment_keeps_shape_and_range(policy):
    torch.manual_seed(0)
    x = (torch.rand(32, 3, 16, 16) * 2 - 1).requires_grad_(True)
    out = DiffAugment(policy=policy).augment(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    if "color" not in policy:  # colour leaves [-1, 1], as in the reference code
        assert out.min() >= -1 and out.max() <= 1
    assert not torch.equal(out, x)
    out.sum().backward()  # differentiable: G gets gradients through the augmentation
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_moves_content_and_pads_with_zeros():
    torch.manual_seed(0)
    x = torch.arange(1.0, 17.0).view(1, 1, 4, 4).repeat(64, 2, 1, 1)
    out = translation(x, ratio=0.25)  # shifts of -1, 0, 1 pixels
    values = set(x.unique().tolist()) | {0.0}
    assert set(out.unique().tolist()) <= values
    assert torch.equal(out[:, 0], out[:, 1])  # channels move together
    for img, src in zip(out[:, 0], x[:, 0]):
        nz = img != 0
        # a shifted copy: every kept pixel equals the source pixel (dy, dx) away
        found = any(torch.equal(img[nz], torch.roll(src, (-dy, -dx), (0, 1))[nz]) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        assert found


def test_cutout_zeroes_one_square():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 16, 16) * 0.9 + 0.1  # no zeros in the input
    out = cutout(x, ratio=0.5)
    zeros = (out == 0).flatten(1).sum(1)
    assert zeros.max() == 64 and zeros.min() >= 1  # an 8x8 square, clipped at the borders
    assert torch.equal(out[out != 0], x[out != 0])


def test_color_and_flip():
    torch.manual_seed(0)
    x = torch.rand(16, 3, 8, 8) * 2 - 1
    assert color(x, clamp=True).abs().max() <= 1
    assert color(x, clamp=False).abs().max() > 1  # the reference ops leave the range; clamp brings it back
    f = hflip(x, p=1.0)
    assert torch.equal(f, x.flip(3))
    assert torch.equal(hflip(x, p=0.0), x)


def test_diffaugment_on_points_is_a_bounded_shift():
    torch.manual_seed(0)
    x = torch.randn(100, 2)
    out = DiffAugment(point_shift=0.1).augment(x)
    assert out.shape == x.shape and 0 < (out - x).abs().max() <= 0.1


def test_diffaugment_trick_augments_real_and_fake_in_both_steps():
    trainer = make_trainer(tiny_config("dcgan16", "ns", "diffaug"), DATA["dcgan16"])
    x = torch.rand(8, 1, 16, 16) * 0.9 + 0.1
    r, f = trainer.hooks.d_inputs(trainer, x, x)
    assert not torch.equal(r, x) and not torch.equal(f, x) and not torch.equal(r, f)  # independent draws
    assert not torch.equal(trainer.hooks.g_inputs(trainer, x), x)


def test_consistency_penalty():
    critic = LinearCritic(torch.ones(4))
    x = torch.randn(6, 4)
    out = critic(x)
    batch = DBatch(x, x, out.logits, out.logits, out.features, out.features)
    assert Consistency(point_shift=0.0).d_penalties(owner(critic), batch)["cr"].item() == 0.0
    terms = Consistency(point_shift=0.5, fake_weight=1.0).d_penalties(owner(critic), batch)
    assert 0 < terms["cr"].item() <= 10.0 * (4 * 0.5) ** 2 and "cr_fake" in terms
    img = torch.randn(4, 1, 8, 8)
    critic = LinearCritic(torch.ones(64))  # sum of pixels: invariant to flips
    out = critic(img)
    batch = DBatch(img, img, out.logits, out.logits, out.features, out.features)
    assert Consistency(translation=0.0).d_penalties(owner(critic), batch)["cr"].item() == pytest.approx(0.0, abs=1e-8)


# --- schedules, clipping, minibatch layers, feature matching -------------------------


def test_instance_noise_annealing():
    assert annealed_sigma(0.1, 0, 100, 1.0) == 0.1
    assert annealed_sigma(0.1, 50, 100, 1.0) == pytest.approx(0.05)
    assert annealed_sigma(0.1, 25, 100, 0.5) == pytest.approx(0.05)
    assert annealed_sigma(0.1, 60, 100, 0.5) == 0.0
    assert annealed_sigma(0.1, 60, 100, 0.0) == 0.1
    trainer = make_trainer(tiny_config("mlp2d", "ns", "inoise", steps=10), DATA["mlp2d"])
    x = torch.zeros(4000, 2)
    r, _ = trainer.hooks.d_inputs(trainer, x, x)
    assert r.std().item() == pytest.approx(0.1, rel=0.05)
    trainer.step = 10
    r, f = trainer.hooks.d_inputs(trainer, x, x)
    assert r is x and f is x  # sigma 0: no work


def test_lr_schedules():
    assert [lr_factor("step", t, 100, every=0.5, gamma=0.1) for t in (0, 49, 50, 99)] == pytest.approx([1, 1, 0.1, 0.1])
    assert [lr_factor("linear", t, 100, start=0.5) for t in (0, 50, 75, 100)] == pytest.approx([1, 1, 0.5, 0])
    # decay between 40% and 80% of training down to 5%, then held there
    held = [lr_factor("linear", t, 100, start=0.4, stop=0.8, end=0.05) for t in (40, 60, 80, 90, 100)]
    assert held == pytest.approx([1, 0.525, 0.05, 0.05, 0.05])
    cfg = tiny_config("mlp2d", "ns", "lr_linear", steps=4, lr_d=4e-4, lr_g=1e-4)
    cfg["tricks"]["lr_schedule"] = {"kind": "linear", "start": 0.5}  # the trick alone (mlp2d's preset implies its own)
    trainer = make_trainer(cfg, DATA["mlp2d"])
    lrs = []
    for _ in range(4):
        lrs.append((trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]))
        trainer.iteration()
    assert lrs == [pytest.approx((1e-4 * f, 4e-4 * f)) for f in (1, 1, 1, 0.5)]


def test_weight_clip_keeps_the_critic_in_the_box():
    trainer = make_trainer(tiny_config("dcgan16", "wgan", "none"), DATA["dcgan16"])
    assert trainer.config["train"]["n_critic"] == 5 and isinstance(trainer.opt_d, torch.optim.RMSprop)
    assert trainer.opt_d.param_groups[0]["lr"] == pytest.approx(5e-5)
    trainer.iteration()
    assert all(p.abs().max() <= 0.01 for p in trainer.d.parameters())


def test_grad_clip_bounds_the_gradient_norm():
    trainer = make_trainer(tiny_config("mlp2d", "ns", "gclip"), DATA["mlp2d"])
    for p in trainer.d.parameters():
        p.grad = torch.full_like(p, 10.0)
    trainer.hooks.call("before_d_optim", trainer)
    norm = torch.sqrt(sum((p.grad**2).sum() for p in trainer.d.parameters()))
    assert norm.item() == pytest.approx(1.0, rel=1e-5)


def test_minibatch_discrimination_known_value():
    layer = MinibatchDiscrimination(2, kernels=1, dim=2)
    with torch.no_grad():
        layer.T.copy_(torch.eye(2))  # M = x
    x = torch.tensor([[0.0, 0.0], [1.0, 2.0], [1.0, 1.0]])
    out = layer(x)
    e = math.exp
    expected = [e(-3) + e(-2), e(-3) + e(-1), e(-2) + e(-1)]
    assert out.shape == (3, 3) and torch.allclose(out[:, 2], torch.tensor(expected))
    layer4 = MinibatchDiscrimination(8, kernels=3, dim=2)
    assert layer4(torch.randn(5, 2, 2, 2)).shape == (5, 5, 2, 2)


@pytest.mark.parametrize("arch", ["mlp2d", "dcgan16"])
@pytest.mark.parametrize("trick,module", [("mbdisc", MinibatchDiscrimination), ("dropout", nn.Dropout)])
def test_discriminator_options_are_built(arch, trick, module):
    trainer = make_trainer(tiny_config(arch, "ns", trick), DATA[arch])
    assert any(isinstance(m, module) for m in trainer.d.modules())


def test_unsupported_discriminator_option_is_a_clear_error():
    trainer = make_trainer(tiny_config("mlp2d", "ns", "none"), DATA["mlp2d"])  # D without mbstd
    with pytest.raises(ConfigError, match="mbstd needs the discriminator option 'mbstd'"):
        MinibatchStd().setup(trainer)


def test_feature_matching_value_and_trick():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]])  # mean (1, 1)
    assert feature_matching(real, fake).item() == pytest.approx(1 + 4)
    trainer = make_trainer(tiny_config("mlp2d", "ns", "fm"), DATA["mlp2d"])
    stats = trainer.iteration()
    assert "g_fm" in stats and stats["g_fm"].item() >= 0


@pytest.mark.parametrize("preset,adversarial", [("fm", False), ("fm_add", True)])
def test_feature_matching_replaces_g_loss_as_in_the_paper(preset, adversarial):
    """Issue 17, item 3: Salimans et al. train G on the feature distance alone (`fm`, the default
    mode); `fm_add` adds it to the adversarial loss. G's gradient is checked against both objectives."""
    from gangrid.losses import get_loss

    trainer = make_trainer(tiny_config("mlp2d", "ns", preset), DATA["mlp2d"])
    assert trainer.hooks.get("feature_matching").hp["mode"] == ("add" if adversarial else "replace")
    trainer.d_step()  # FM takes its real batch from the last D step
    z = trainer.sample_z(8)
    fm_real = trainer.d(trainer.hooks.get("feature_matching").real).features.detach()
    out = trainer.d(trainer.g(z, None))
    expected = feature_matching(fm_real, out.features) + (get_loss("ns").g(out.logits) if adversarial else 0)
    want = torch.autograd.grad(expected, list(trainer.g.parameters()))

    trainer.g_step(trainer.g(z, None), z, None)
    got = [p.grad for p in trainer.g.parameters()]
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(got, want))


# --- hooks machinery --------------------------------------------------------------


def test_hooks_only_call_overridden_methods():
    tricks = build_tricks({"ema": {}, "spectral_norm": {}, "pacgan": {"m": 2}})
    hooks = Hooks(tricks)
    assert [t.name for t in hooks.by_hook["d_inputs"]] == ["pacgan"]
    assert [t.name for t in hooks.by_hook["after_g_step"]] == ["ema"]
    assert hooks.by_hook["d_penalties"] == []
    assert Hooks([Trick()]).by_hook == {k: [] for k in hooks.by_hook}


@pytest.mark.parametrize("cfg,message", [
    ({"pacgan": {"m": 1}}, "tricks.x.pacgan.m: must be an integer >= 2 (got 1)"),
    ({"ema": {"decay": 1.5}}, "tricks.x.ema.decay: must be in [0, 1)"),
    ({"lr_schedule": {"kind": "cosine"}}, "tricks.x.lr_schedule.kind: must be one of step, linear"),
    ({"diffaugment": {"policy": ["blur"]}}, "tricks.x.diffaugment.policy: unknown op(s) ['blur']"),
    ({"r1": {"lambda": 1}}, "tricks.x.r1: unknown hyperparameter(s) lambda (known: every, gamma)"),
])
def test_bad_hyperparameters_name_the_key(cfg, message):
    with pytest.raises(ConfigError) as exc:
        build_tricks(cfg, "tricks.x")
    assert message in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("trick_cls", ["pacgan", "replay"])
def test_sample_reordering_tricks_refuse_conditional_runs(trick_cls):
    from gangrid.tricks import TRICKS

    trainer = make_trainer(tiny_config("dcgan16", "ns", trick_cls), DATA["dcgan16"])  # labelled data, unconditional nets
    TRICKS.get(trick_cls)().setup(trainer)  # fine

    class Conditional(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.inner = d

        def forward(self, x, y=None):
            if y is None:
                raise ValueError("conditional discriminator needs labels y")
            return self.inner(x, y)

    trainer.d = Conditional(trainer.d)
    with pytest.raises(ConfigError, match="needs an unconditional GAN"):
        TRICKS.get(trick_cls)().setup(trainer)

    class PairsLabels(Trick):
        name = "aux_like"
        uses_sample_info = True

    trainer = make_trainer(tiny_config("dcgan16", "ns", trick_cls), DATA["dcgan16"])
    trainer.hooks.tricks.append(PairsLabels())
    with pytest.raises(ConfigError, match="cannot be combined with aux_like"):
        TRICKS.get(trick_cls)().setup(trainer)


@pytest.mark.parametrize("arch", ["progan16", "stylegan16"])
def test_spectral_norm_refuses_equalized_learning_rate_nets(arch):
    """ProGAN / StyleGAN layers scale a raw weight at run time; SN would skip them without a word, so the
    combination is a clear error naming the trick, the arch and the run, before any step."""
    from gangrid.config import RunSpec, resolve_run
    from gangrid.nets import DataSpec
    from gangrid.kinds.gan.trainer import GanTrainer
    from tricks_util import PARAMS

    params = copy.deepcopy(PARAMS)
    params["studies"] = {"t": {"datasets": ["digits"], "archs": [arch], "losses": ["ns"], "tricks": ["sn"],
                               "seeds": [0], "baseline": {}, "train": {}}}
    cfg = resolve_run(params, RunSpec("t", "digits", arch, "ns", "sn", 0))
    with pytest.raises(ConfigError, match=rf"^tricks\.sn on archs\.{arch} \(run t/digits-{arch}-ns-sn-s0\): spectral_norm: "
                                          r"D has equalized-learning-rate layers \(Equalized"):
        GanTrainer(cfg, DataSpec("image", (1, 16, 16), 10))


# --- conditional WGAN-GP --------------------------------------------------------------


def test_conditional_gradient_penalty_interpolates_pairs_that_share_a_label():
    """Issue 17, item 6: a class-conditional critic scores x_hat with a label, so both ends of the
    interpolation carry it. Images are their label's value: x_hat of a same-label pair is that value."""
    from gangrid.tricks.gradient_penalty import label_pairs

    idx, valid = label_pairs(torch.tensor([3, 1, 3, 2, 1]), torch.tensor([1, 3, 1, 0, 3]))
    assert idx[valid].tolist() == [1, 0, 4, 2] and valid.tolist() == [True, True, True, False, True]

    class Recorder(nn.Module):
        """A conditional critic: D(x, y) = sum(x) * (y + 1); it records what it scores."""

        def forward(self, x, y=None):
            if y is None:
                raise ValueError("conditional critic needs labels y")
            self.x, self.y = x.detach(), y
            return DOut(x.flatten(1).sum(1) * (y + 1), x.flatten(1))

    torch.manual_seed(0)
    y_real, y_fake = torch.randint(0, 3, (64,)), torch.randint(0, 3, (64,))
    real = y_real.float().view(-1, 1, 1, 1).expand(-1, 1, 2, 2).contiguous()
    fake = y_fake.float().view(-1, 1, 1, 1).expand(-1, 1, 2, 2).contiguous()
    trick = GradientPenalty(weight=1.0, center=0.0)
    critic = Recorder()
    trick.setup(SimpleNamespace(d=critic, device=torch.device("cpu"), data=SimpleNamespace(n_classes=3, shape=(1, 2, 2))))
    assert trick.conditional
    batch = DBatch(real, fake, *(torch.zeros(64),) * 4, y_real=y_real, y_fake=y_fake)
    gp = trick.d_penalties(owner(critic), batch)["gp"]
    _, valid = label_pairs(y_real, y_fake)
    assert valid.sum() > 40  # most samples find a partner
    assert torch.equal(critic.x[valid], real[valid])  # x_hat = a c + (1 - a) c = c
    assert torch.equal(critic.y, y_real)
    # ||grad_x D|| = 2 (y + 1) for a 2x2 image; the mean runs over the pairs found
    assert gp.item() == pytest.approx(((2.0 * (y_real[valid] + 1)) ** 2).float().mean().item())


# --- value tests of the techniques (issue 17, item 11) -----------------------------------


@pytest.mark.parametrize("n_critic,trick", [(1, "none"), (3, "none"), (2, "unrolled"), (2, "unrolled_fo")])
def test_n_critic_counts_real_d_steps_per_g_step(n_critic, trick):
    """Each iteration takes n_critic D updates that persist and draws n_critic real batches, then one G
    update; unrolling adds look-ahead D steps that leave no update and draw nothing."""
    from gangrid.training import base

    trainer = make_trainer(tiny_config("mlp2d", "ns", trick, n_critic=n_critic), DATA["mlp2d"])
    steps = {"g": 0, "d": 0}
    real_step = base.optimizer_step

    def counting(opt):
        steps["g" if opt is trainer.opt_g else "d"] += 1
        real_step(opt)

    import gangrid.kinds.gan.trainer as gan

    original = gan.optimizer_step
    gan.optimizer_step = counting
    try:
        for _ in range(2):
            pos = trainer.sampler.pos
            d_state = trainer.opt_d.state_dict()
            d_steps = {k: int(v["step"]) for k, v in d_state["state"].items()} if d_state["state"] else {}
            trainer.iteration()
            assert trainer.sampler.pos == pos + n_critic * 8
            after = {k: int(v["step"]) for k, v in trainer.opt_d.state_dict()["state"].items()}
            assert all(after[k] == d_steps.get(k, 0) + n_critic for k in after)  # Adam's step count: persistent D updates
    finally:
        gan.optimizer_step = original
    assert steps["g"] == 2


def test_ttur_rates_drive_the_first_adam_steps():
    """TTUR (lr_d 4e-4, lr_g 1e-4): Adam's first update moves every parameter with a gradient by
    lr * |g| / (|g| + eps), i.e. by its optimiser's rate."""
    trainer = make_trainer(tiny_config("mlp2d", "ns", "ttur"), DATA["mlp2d"])
    before = {n: [p.detach().clone() for p in net.parameters()] for n, net in (("g", trainer.g), ("d", trainer.d))}
    trainer.iteration()
    for name, net, lr in (("g", trainer.g, 1e-4), ("d", trainer.d, 4e-4)):
        opt = trainer.opt_g if name == "g" else trainer.opt_d
        assert opt.param_groups[0]["lr"] == lr
        for p0, p in zip(before[name], net.parameters()):
            g = p.grad.abs()
            expected = lr * g / (g + 1e-8)  # bias-corrected m / sqrt(v) = g / |g| at step 1
            assert torch.allclose((p.detach() - p0).abs(), expected, rtol=1e-3, atol=1e-9)


def test_minibatch_stddev_known_value():
    """Groups of 2 by stride (samples 0, 2 and 1, 3, as in ProGAN's reshape): per-feature std within
    the group, averaged over features, appended as one feature."""
    from gangrid.nets.common import MinibatchStdDev

    x = torch.tensor([[0.0, 0.0], [0.0, 4.0], [2.0, 2.0], [0.0, 2.0]])
    out = MinibatchStdDev(group_size=2)(x)
    # group {0, 2}: std (1, 1) -> 1; group {1, 3}: std (1e-4, 1) -> 0.50005 (sqrt(var + 1e-8), eps inside)
    b = (math.sqrt(1e-8) + math.sqrt(1 + 1e-8)) / 2
    expected = torch.tensor([math.sqrt(1 + 1e-8), b, math.sqrt(1 + 1e-8), b])
    assert torch.equal(out[:, :2], x) and torch.allclose(out[:, 2], expected, atol=1e-6)
    img = x.view(4, 2, 1, 1).expand(4, 2, 3, 3)
    assert torch.allclose(MinibatchStdDev(group_size=2)(img)[:, 2], expected.view(4, 1, 1).expand(4, 3, 3), atol=1e-6)


def test_consistency_penalty_exact_value():
    """CR on points: D(T(x)) - D(x) = <w, delta> for a linear critic, delta ~ U(-s, s)^2 per point."""
    w = torch.tensor([1.0, -2.0])
    critic = LinearCritic(w)
    x = torch.randn(6, 2)
    out = critic(x)
    batch = DBatch(x, x, out.logits, out.logits, out.features, out.features)
    torch.manual_seed(3)
    cr = Consistency(weight=10.0, point_shift=0.5).d_penalties(owner(critic), batch)["cr"]
    torch.manual_seed(3)
    delta = (torch.rand_like(x) * 2 - 1) * 0.5
    assert cr.item() == pytest.approx(10.0 * ((delta @ w) ** 2).mean().item(), rel=1e-6)


def test_diffaugment_colour_is_the_reference_op():
    """DiffAugment's colour op with its defaults: brightness + U(-0.5, 0.5), saturation x U(0, 2) about
    the channel mean, contrast x U(0.5, 1.5) about the image mean, unclamped (the reference code), and
    the policy order colour, translation, cutout."""
    trick = DiffAugment()
    assert trick.hp["policy"] == ["color", "translation", "cutout"] and trick.hp["clamp"] is False
    x = torch.linspace(-1, 1, 2 * 3 * 4 * 4).view(2, 3, 4, 4)
    torch.manual_seed(5)
    out = DiffAugment(policy=["color"]).augment(x)
    torch.manual_seed(5)
    b, s, c = torch.rand(2, 1, 1, 1), torch.rand(2, 1, 1, 1), torch.rand(2, 1, 1, 1)
    y = x + (b - 0.5)
    y = (y - y.mean(1, keepdim=True)) * (s * 2) + y.mean(1, keepdim=True)
    y = (y - y.mean((1, 2, 3), keepdim=True)) * (c + 0.5) + y.mean((1, 2, 3), keepdim=True)
    assert y.abs().max() > 1 and torch.allclose(out, y, atol=1e-6)


def test_wgan_critic_schedule_runs_100_critic_steps_at_the_start_and_every_500th():
    """Issue 17, item 8: Arjovsky et al.'s schedule, in the wgan preset: 100 critic steps for the first 25
    G steps and every 500th, n_critic (5) otherwise; a pure function of the step, so resumes keep it."""
    from gangrid.tricks.critic_schedule import critic_steps
    from tricks_util import PARAMS

    assert PARAMS["losses"]["wgan"]["tricks"]["critic_schedule"] == {"n": 100, "first": 25, "every": 500}
    assert [critic_steps(t, 5, 100, 25, 500) for t in (0, 24, 25, 499, 500, 501, 1000)] == [100, 100, 5, 5, 100, 5, 100]
    trainer = make_trainer(tiny_config("mlp2d", "wgan", "none"), DATA["mlp2d"])  # n = 3 here, for speed
    drawn = []
    for _ in range(2):
        pos = trainer.sampler.pos
        trainer.iteration()
        drawn.append((trainer.sampler.pos - pos) // 8)
    assert drawn == [3, 3]
    state = trainer.state_dict()
    state["step"] = 25
    trainer.load_state_dict(state)
    assert trainer.n_critic == 5
    trainer.iteration()  # G step index 25 takes n_critic steps, and so will index 26
    assert trainer.n_critic == 5
