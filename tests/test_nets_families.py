"""Family-specific behaviour against the papers' definitions: the seed's MNIST GAN shapes, SNGAN's
ResNet layout, conditioning, AC-GAN / semi-supervised / InfoGAN loss terms, BigGAN truncation and
orthogonal regularisation, StyleGAN truncation and style mixing, and the architecture figures."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gangrid.losses import Targets, get_loss
from gangrid.nets import DataSpec, build_nets
from gangrid.kinds.gan.trainer import GanTrainer

DIGITS16 = DataSpec("image", (1, 16, 16), 10)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny nets run fastest single-threaded (and do not fight other processes for cores)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def build(family: str, data: DataSpec = DIGITS16, z_dim: int = 8, **cfg):
    torch.manual_seed(0)
    return build_nets({"family": family, "name": family, "z_dim": z_dim, **cfg}, data)


def config(arch: dict, tricks: dict, batch: int = 8, z_dim: int = 8) -> dict:
    return {"run": {"name": "t", "dataset": "x"}, "arch": {"name": "t", **arch}, "loss": {"name": "ns", "fn": "ns"},
            "tricks": tricks, "seed": 0,
            "train": {"batch_size": batch, "z_dim": z_dim, "optimizer": "adam", "lr_g": 2e-4, "lr_d": 2e-4,
                      "betas": [0.5, 0.999], "n_critic": 1, "steps": 10}}


def labelled_trainer(arch: dict, tricks: dict, data: DataSpec = DIGITS16, n: int = 40) -> GanTrainer:
    torch.manual_seed(0)
    t = GanTrainer(config(arch, tricks), data)
    t.attach_data(torch.randint(0, 256, (n, *data.shape), dtype=torch.uint8), torch.arange(n) % data.n_classes, seed=0)
    return t


# --- the seed's MNIST conv GAN -------------------------------------------------------------------

def test_mnist_conv_gan_has_the_case_study_shapes():
    g, d = build("mnist_conv", DataSpec("image", (1, 28, 28), 10), z_dim=100)
    assert g.project.weight.shape == (7 * 7 * 128, 100)  # dense 100 -> 7x7x128 (6,272 units)
    convts = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in convts] == [(128, 64, (5, 5), (2, 2)), (64, 1, (5, 5), (2, 2))]
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in convs] == [(1, 64, (5, 5), (2, 2)), (64, 128, (5, 5), (2, 2))]
    assert not isinstance(d.body[1], nn.BatchNorm2d) and isinstance(d.body[3], nn.BatchNorm2d)  # no BN on D's first layer
    out = d(g(torch.randn(3, 100)))
    assert out.features.shape == (3, 7 * 7 * 128) and out.logits.shape == (3,)


def test_sngan_resnet_layout_at_32px():
    g, d = build("resnet", DataSpec("image", (3, 32, 32)), z_dim=128, g_ch=256, d_ch=128)
    assert len(g.blocks) == 3  # 4 -> 8 -> 16 -> 32
    assert [(b.first, b.down) for b in d.blocks] == [(True, True), (False, True), (False, False), (False, False)]
    h = torch.randn(2, 3, 32, 32)
    for b in d.blocks:
        h = b(h)
    assert h.shape == (2, 128, 8, 8)
    assert d(torch.randn(2, 3, 32, 32)).features.shape == (2, 128)


# --- conditioning ------------------------------------------------------------------------------------

@pytest.mark.parametrize("family,cfg", [("cgan", {}), ("cgan", {"body": "mlp", "g_widths": [16], "d_widths": [16]}),
                                        ("projection", {"g_ch": 8, "d_ch": 8}), ("biggan", {"g_ch": 8, "d_ch": 8}),
                                        ("acgan", {})])
def test_conditional_generators_depend_on_the_label(family, cfg):
    g, d = build(family, **({"g_ch": 8, "d_ch": 8} | cfg))
    for m in g.modules():  # class-conditional BN starts class-independent (gain 1, bias 0): as if trained
        if isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight)
    g.eval(), d.eval()
    z = torch.randn(4, 8)
    with torch.no_grad():
        x0, x1 = g(z, torch.zeros(4, dtype=torch.long)), g(z, torch.ones(4, dtype=torch.long))
        assert not torch.allclose(x0, x1)
        if family != "acgan":  # AC-GAN's D is unconditional; the others judge (x, y) pairs
            assert not torch.allclose(d(x0, torch.zeros(4, dtype=torch.long)).logits, d(x0, torch.ones(4, dtype=torch.long)).logits)


def test_projection_logit_is_linear_head_plus_inner_product_with_class_embedding():
    _, d = build("projection", g_ch=8, d_ch=8)
    d.eval()
    x, y = torch.randn(3, 1, 16, 16), torch.tensor([2, 5, 7])
    with torch.no_grad():
        out = d(x, y)
        assert torch.allclose(out.logits, d.head(out.features).squeeze(1) + (d.embed(y) * out.features).sum(1), atol=1e-5)


def test_acgan_aux_terms_are_the_cross_entropies_of_the_class_head():
    t = labelled_trainer({"family": "acgan", "g_ch": 8, "d_ch": 8}, {"acgan_aux": {"weight": 0.5}})
    trick = t.hooks.tricks[0]
    from gangrid.tricks import DBatch, GBatch

    real_f, fake_f = torch.randn(4, t.d.encoder.out_dim), torch.randn(4, t.d.encoder.out_dim)
    y_r, y_f = torch.tensor([0, 1, 2, 3]), torch.tensor([4, 5, 6, 7])
    batch = DBatch(None, None, None, None, real_f, fake_f, y_r, y_f)
    ce = lambda f, y: F.cross_entropy(t.d.classifier(f), y)  # noqa: E731
    assert torch.allclose(trick.d_penalties(t, batch)["aux"], 0.5 * (ce(real_f, y_r) + ce(fake_f, y_f)))
    g_batch = GBatch(None, None, fake_f, None, y_f)
    assert torch.allclose(trick.g_penalties(t, g_batch)["aux"], 0.5 * ce(fake_f, y_f))


# --- semi-supervised GAN ---------------------------------------------------------------------------

def test_k_plus_one_discriminator_logit_and_the_salimans_losses():
    _, d = build("semisup", g_ch=8, d_ch=8)
    d.eval()
    x = torch.randn(5, 1, 16, 16)
    with torch.no_grad():
        out = d(x)
        l = d.all_logits(out.features)  # (5, K+1)
    assert l.shape == (5, 11)
    p_fake = torch.softmax(l, 1)[:, 10]
    assert torch.allclose(torch.sigmoid(out.logits), 1 - p_fake, atol=1e-5)  # D(x) = 1 - p(K+1 | x)
    # the ns loss on these logits is Salimans et al.'s unsupervised loss
    l_unsup = -torch.log(1 - p_fake).mean() - torch.log(p_fake).mean()
    assert torch.allclose(get_loss("ns").d(out.logits, out.logits, Targets()), l_unsup, atol=1e-5)


def test_classifier_accuracy_and_balanced_labelled_subset():
    from gangrid.nets.semisup import classifier_accuracy
    from gangrid.tricks.semi_supervised import balanced_subset

    _, d = build("semisup", g_ch=8, d_ch=8)
    x = torch.randn(30, 1, 16, 16)
    with torch.no_grad():
        pred = d.eval().class_logits(d(x).features).argmax(1)
    y = pred.clone()
    y[:6] = (y[:6] + 1) % 10
    assert classifier_accuracy(d, x, y) == pytest.approx(24 / 30)
    labels = torch.arange(100) % 10
    idx = balanced_subset(labels, 23, 10, seed=0)
    assert len(idx) == 23 and torch.bincount(labels[idx], minlength=10).tolist() == [3, 3, 3] + [2] * 7
    assert torch.equal(idx, balanced_subset(labels, 23, 10, seed=0))


def test_semi_supervised_trick_uses_only_the_labelled_subset():
    t = labelled_trainer({"family": "semisup", "g_ch": 8, "d_ch": 8}, {"semi_supervised": {"labelled": 20}}, n=60)
    t.iteration()
    trick = t.hooks.tricks[0]
    assert len(trick.idx) == 20 and torch.bincount(t.sampler.y[trick.idx], minlength=10).tolist() == [2] * 10
    assert trick.state_dict()["idx"] is trick.idx


# --- InfoGAN -------------------------------------------------------------------------------------------

def test_infogan_prior_codes_and_split():
    g, _ = build("infogan", g_ch=8, d_ch=8, categorical=[10, 3], continuous=2)
    z = g.sample_latent(500, torch.Generator().manual_seed(0))
    assert z.shape == (500, 8 + 13 + 2)
    noise, cats, cont = g.split_codes(z)
    assert torch.equal(z[:, 8:18].sum(1), torch.ones(500)) and torch.equal(z[:, 18:21].sum(1), torch.ones(500))
    assert set(cats[0].tolist()) == set(range(10)) and set(cats[1].tolist()) == {0, 1, 2}
    assert cont.min() >= -1 and cont.max() <= 1 and cont.std() == pytest.approx(2 / math.sqrt(12), rel=0.15)
    assert torch.equal(g.make_latent(noise, cats, cont), z)


def test_mutual_information_loss_values():
    from gangrid.nets.infogan import mutual_information_loss

    logits = [torch.tensor([[2.0, 0.0], [0.0, 1.0]])]
    means = torch.tensor([[0.5], [-1.0]])
    codes = (None, [torch.tensor([0, 0])], torch.tensor([[0.0], [0.0]]))
    ce = F.cross_entropy(logits[0], torch.tensor([0, 0]))
    assert torch.allclose(mutual_information_loss((logits, means), codes, cont_weight=2.0), ce + 2.0 * 0.5 * (0.25 + 1.0) / 2)


def test_infogan_trick_sees_the_codes_of_the_fakes_in_both_steps():
    from gangrid.nets.infogan import mutual_information_loss

    t = labelled_trainer({"family": "infogan", "g_ch": 8, "d_ch": 8, "categorical": [10], "continuous": 2}, {"infogan_mi": {"weight": 0.5}})
    trick, seen = t.hooks.tricks[0], {}
    d_pen, g_pen = trick.d_penalties, trick.g_penalties

    def spy_d(trainer, batch):
        out = d_pen(trainer, batch)
        seen["d"] = (batch.extras["z"], batch.fake_features.detach(), out["mi"].detach())
        return out

    def spy_g(trainer, batch):
        seen["g"] = batch.z
        return g_pen(trainer, batch)

    trick.d_penalties, trick.g_penalties = spy_d, spy_g
    t.iteration()
    z, feats, mi = seen["d"]
    assert torch.equal(z, seen["g"])  # the D step judged the fakes the G step then trained on
    assert z.shape == (8, 8 + 12)
    # (Q's weights moved in the D step; recompute with the pre-step head is not possible, so check the form)
    assert mi > 0 and torch.isfinite(mi)
    logits, means = t.d.info_head(feats)
    assert len(logits) == 1 and logits[0].shape == (8, 10) and means.shape == (8, 2)
    assert mutual_information_loss((logits, means), t.g.split_codes(z)) > 0


def test_latent_traversal_varies_one_code_per_column():
    from gangrid.nets.infogan import latent_traversal

    g, _ = build("infogan", g_ch=8, d_ch=8)
    images, ncol = latent_traversal(g.eval(), code=1, steps=6)
    assert images.shape == (60, 1, 16, 16) and ncol == 6
    assert not torch.allclose(images[0], images[5]) and not torch.allclose(images[0], images[6])


# --- BigGAN ----------------------------------------------------------------------------------------------

def test_biggan_truncation_applies_only_when_sampling():
    g, _ = build("biggan", g_ch=8, d_ch=8, truncation=0.5)
    gen = torch.Generator().manual_seed(0)
    assert g.eval().sample_latent(2000, gen).abs().max() <= 0.5
    assert g.train().sample_latent(2000, gen).abs().max() > 2.0


def test_orthogonal_penalty_known_values():
    from gangrid.tricks.orthogonal_reg import orthogonal_penalty

    assert orthogonal_penalty([torch.eye(3) * 5]) == 0  # orthogonal rows of any norm: no penalty
    assert orthogonal_penalty([torch.ones(2, 2)]) == 8  # off-diagonal gram entries 2, 2 -> 2 * 2^2
    conv = torch.zeros(2, 1, 2, 2)
    conv[0, 0, 0, 0] = conv[1, 0, 0, 0] = 1.0  # flattened rows share one entry -> gram off-diagonal 1
    assert orthogonal_penalty([conv]) == 2


def test_biggan_preset_regularises_g_and_spectrally_normalises_g_and_d():
    from gangrid.config import load_params
    from conftest import REPO

    preset = load_params(REPO / "params.yaml")["archs"]["biggan16"]
    arch = {"family": "biggan", "g_ch": 8, "d_ch": 8, "attention": 8}
    t = labelled_trainer(arch, preset["tricks"])
    assert any(hasattr(m, "parametrizations") for m in t.g.modules()) and any(hasattr(m, "parametrizations") for m in t.d.modules())
    stats = t.iteration()
    assert "g_ortho" in stats and float(stats["g_ortho"]) > 0
    ortho = next(tr for tr in t.hooks.tricks if tr.name == "orthogonal_reg")
    assert not any(w is t.g.shared.weight for w in ortho.weights)  # the class embedding is not regularised


# --- StyleGAN ------------------------------------------------------------------------------------------

def test_stylegan_mapping_truncation_and_w_average():
    g, _ = build("stylegan", g_ch=8, d_ch=8, max_ch=16, w_dim=16)
    assert sum(isinstance(m, nn.Module) and m.__class__.__name__ == "EqualizedLinear" for m in g.mapping.modules()) == 8
    assert g.n_layers == 6  # two per resolution: 4, 8, 16
    g.train()
    g(torch.randn(16, 8))
    assert g.w_avg.abs().sum() > 0  # moving average of w updated while training
    g.eval()
    g.truncation = 0.0  # psi = 0: every w collapses onto w_avg
    with torch.no_grad():
        g.fix_noise(True)
        x = g(torch.randn(4, 8))
    assert torch.allclose(x, x[:1].expand_as(x), atol=1e-4)


def test_style_mixing_regularisation_draws_a_second_latent():
    g, _ = build("stylegan", g_ch=8, d_ch=8, max_ch=16, w_dim=16)
    calls = []
    g.mapping.register_forward_hook(lambda *a: calls.append(1))
    g.train()
    g.mixing_prob = 1.0
    g(torch.randn(2, 8))
    assert len(calls) == 2
    g.mixing_prob = 0.0
    g(torch.randn(2, 8))
    assert len(calls) == 3


def test_style_mixing_grid_rows_columns_and_crossover():
    from gangrid.nets.stylegan import style_mixing_grid

    g, _ = build("stylegan", g_ch=8, d_ch=8, max_ch=16, w_dim=16)
    for layer in g.layers:
        layer.noise.weight.data.fill_(0.5)  # noise matters: the grid must use the same noise everywhere
    g.eval()
    images, ncol = style_mixing_grid(g, n_cols=3, n_rows=2, crossover=g.n_layers)
    assert images.shape == (12, 1, 16, 16) and ncol == 4
    grid = images.view(3, 4, 1, 16, 16)
    assert torch.allclose(grid[1, 1], grid[1, 0], atol=1e-5)  # all styles from the row source B
    images, _ = style_mixing_grid(g, n_cols=3, n_rows=2, crossover=0)
    grid = images.view(3, 4, 1, 16, 16)
    assert torch.allclose(grid[2, 3], grid[0, 3], atol=1e-5)  # all styles from the column source A


def test_architecture_figures_are_written(tmp_path):
    from gangrid.nets.figures import save_arch_figures

    g_info, _ = build("infogan", g_ch=8, d_ch=8, continuous=2)
    g_style, _ = build("stylegan", g_ch=8, d_ch=8, max_ch=16, w_dim=16)
    g_dcgan, _ = build("dcgan", base=8)
    assert [p.name for p in save_arch_figures(g_info, tmp_path)] == ["traversal_c0.png", "traversal_c1.png"]
    assert [p.name for p in save_arch_figures(g_style, tmp_path, prefix="x_")] == ["x_style_mixing.png"]
    assert save_arch_figures(g_dcgan, tmp_path) == []
    from PIL import Image

    assert Image.open(tmp_path / "x_style_mixing.png").size == (2 * (6 * 17 + 1), 2 * (5 * 17 + 1))


# --- resuming ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["stylegan16", "progan16", "semisup16", "infogan16", "biggan16", "acgan16"])
def test_resumed_run_equals_uninterrupted_run(arch):
    """State that lives outside the weights (ProGAN's progress, StyleGAN's w average and mixing
    draws, the labelled subset, structured latents) survives a checkpoint round trip bit-exactly."""
    import copy

    from test_nets import fake_dataset, preset_data, tiny_config
    from gangrid.runtime import seed_everything

    data = preset_data(arch)
    x, y = fake_dataset(data, 48)

    def trainer(seed: int) -> GanTrainer:
        cfg = tiny_config(arch, "ns")
        cfg["train"]["steps"] = 4
        seed_everything(seed)
        t = GanTrainer(cfg, data)
        t.attach_data(x, y, seed=0)
        return t

    straight = trainer(0)
    for _ in range(4):
        straight.iteration()
    first = trainer(0)
    for _ in range(2):
        first.iteration()
    state = copy.deepcopy(first.state_dict())
    resumed = trainer(123)
    resumed.load_state_dict(state)
    for _ in range(2):
        resumed.iteration()
    for a, b in zip(straight.state_dict()["g"].values(), resumed.state_dict()["g"].values()):
        assert torch.equal(a, b)
    for a, b in zip(straight.state_dict()["d"].values(), resumed.state_dict()["d"].values()):
        assert torch.equal(a, b)
