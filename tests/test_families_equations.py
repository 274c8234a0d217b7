"""Known values of the defining equations of the reference texts' remaining families and tricks: EBGAN's energy,
margin and pulling-away term, BEGAN's k_t and M_global, LAPGAN's pyramid, StyleGAN2's demodulation and path length,
lazy R1, historical averaging, virtual batch norm, the AAE / BiGAN encoders, SRGAN's upsampling and bicubic row."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gangrid.losses import Targets, get_loss
from gangrid.nets import DataSpec
from translation_util import one_thread  # noqa: F401  (autouse: tiny nets run fastest on one thread)

IMG = DataSpec("image", (1, 16, 16), 10)


# ------------------------------------------------------------------ EBGAN / BEGAN


def test_energy_loss_is_the_reals_energy_for_d_and_the_fakes_for_g():
    loss = get_loss("energy")
    real, fake = torch.tensor([-1.0, -3.0]), torch.tensor([-0.5, -2.5])  # logits = -energy
    assert float(loss.d(real, fake, Targets())) == pytest.approx(2.0)  # E(x) = mean(1, 3)
    assert float(loss.g(fake)) == pytest.approx(1.5)  # E(G(z)) = mean(0.5, 2.5)


def test_energies_are_the_l2_norm_for_ebgan_and_the_mean_l1_for_began():
    from gangrid.nets.autoencoder import l1_energy, norm_energy

    x = torch.zeros(2, 1, 2, 2)
    rec = torch.tensor([[3.0, 4.0, 0.0, 0.0], [1.0, -1.0, 1.0, -1.0]]).view(2, 1, 2, 2)
    assert norm_energy(x, rec).tolist() == pytest.approx([5.0, 2.0])
    assert l1_energy(x, rec).tolist() == pytest.approx([1.75, 1.0])


def test_autoencoder_d_logits_are_minus_the_energy_and_features_the_code():
    from gangrid.nets import build_nets
    from gangrid.nets.autoencoder import l1_energy

    torch.manual_seed(0)
    _, d = build_nets({"family": "began", "name": "b", "z_dim": 4, "ch": 4, "code_dim": 3}, IMG)
    x = torch.rand(2, 1, 16, 16)
    out = d(x)
    code, rec = d.reconstruct(x)
    assert torch.allclose(out.logits, -l1_energy(x, rec)) and out.features.shape == (2, 3)


def test_ebgan_margin_is_the_hinge_of_the_fake_energy():
    from gangrid.tricks.ebgan_margin import margin_term

    assert float(margin_term(torch.tensor([1.0, 4.0, 12.0]), 10.0)) == pytest.approx((9 + 6 + 0) / 3)


def test_pulling_away_term_is_the_mean_squared_cosine_over_pairs():
    from gangrid.tricks.pulling_away import pulling_away

    assert float(pulling_away(torch.eye(3))) == pytest.approx(0.0)  # orthogonal codes
    assert float(pulling_away(torch.ones(4, 2))) == pytest.approx(1.0)  # identical directions
    s = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    # pairs (0,1): 1/2, (0,2): 0, (1,2): 1/2, each counted twice, over N(N-1) = 6
    assert float(pulling_away(s)) == pytest.approx(2 * (0.5 + 0.0 + 0.5) / 6)


def test_began_k_update_and_convergence_measure():
    from gangrid.tricks.began import k_update, m_global

    k = k_update(torch.tensor(0.2), torch.tensor(1.0), torch.tensor(0.3), gamma=0.5, lambda_k=0.1)
    assert float(k) == pytest.approx(0.2 + 0.1 * (0.5 * 1.0 - 0.3))
    assert float(k_update(torch.tensor(0.0), torch.tensor(0.1), torch.tensor(5.0), 0.5, 0.1)) == 0.0  # clipped at 0
    assert float(k_update(torch.tensor(1.0), torch.tensor(5.0), torch.tensor(0.0), 0.5, 0.1)) == 1.0  # clipped at 1
    assert float(m_global(torch.tensor(1.0), torch.tensor(0.8), 0.5)) == pytest.approx(1.0 + 0.3)


def test_began_trains_d_on_minus_k_times_the_fake_energy_and_logs_k():
    from tricks_util import make_trainer, tiny_config
    import tricks_util

    tricks_util.TINY_ARCH.setdefault("began16", {"ch": 4, "code_dim": 4})
    cfg = tiny_config("began16", "paper", "none")
    cfg["tricks"]["began"].update(k0=0.25, lambda_k=0.5)
    trainer = make_trainer(cfg, IMG)
    stats = trainer.iteration()
    began = trainer.hooks.get("began")
    assert float(stats["d_began"]) == pytest.approx(-0.25 * float(-stats["d_fake"]), rel=1e-5)  # -k_0 L(G(z_D))
    expected = min(1.0, max(0.0, 0.25 + 0.5 * (0.5 * float(began.loss_real) - float(began.loss_fake))))
    assert float(stats["began_k"]) == pytest.approx(expected, rel=1e-6)
    assert float(began.loss_real) == pytest.approx(float(stats["loss_d"]), rel=1e-6)  # energy loss = L(x)


# ------------------------------------------------------------------ LAPGAN


def test_laplacian_pyramid_reconstructs_exactly_and_bands_are_band_pass():
    from gangrid.nets.lapgan import analyse, down, synthesise, up

    x = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    bands, coarse = analyse(x, 2)
    assert [b.shape[-1] for b in bands] == [16, 8] and coarse.shape[-1] == 4
    assert torch.allclose(synthesise(bands, coarse), x, atol=1e-6)
    const = torch.full((1, 1, 8, 8), 0.3)
    assert torch.allclose(down(const), torch.full((1, 1, 4, 4), 0.3)) and torch.allclose(up(down(const)), const)
    b_const, c_const = analyse(torch.full((1, 1, 16, 16), 0.3), 2)
    assert all(float(b.abs().max()) < 1e-6 for b in b_const) and torch.allclose(c_const, torch.full_like(c_const, 0.3))


def test_lapgan_cascade_samples_coarse_to_fine_and_packs_level_pairs():
    from gangrid.nets import build_nets
    from gangrid.nets.lapgan import pack_real, up

    torch.manual_seed(0)
    g, d = build_nets({"family": "lapgan", "name": "l", "z_dim": 4, "levels": 2, "g_ch": 4, "d_ch": 4, "hidden": 8}, IMG)
    g.eval()
    z = torch.randn(2, 4)
    bands = [torch.randn(2, 1, 16, 16), torch.randn(2, 1, 8, 8)]
    for level, band in zip(g.bands, bands):
        level.forward = lambda low, band=band: band  # type: ignore[method-assign]
    assert torch.allclose(g(z), up(up(g.coarse(z)) + bands[1]) + bands[0], atol=1e-6)  # I_k = u(I_{k+1}) + h_k
    x = torch.rand(2, 1, 16, 16)
    packed = pack_real(x, d.layout, 2)
    parts = d.layout.unpack(packed)
    assert [tuple(p.shape[1:]) for p in parts] == [(1, 16, 16), (1, 16, 16), (1, 8, 8), (1, 8, 8), (1, 4, 4)]
    assert torch.allclose(parts[0] + parts[1], x, atol=1e-6)  # h_0 + l_0 = I_0
    assert d(packed).logits.shape == (2, 3) and torch.allclose(d(x).logits, d(packed).logits)


# ------------------------------------------------------------------ StyleGAN2


def test_demodulation_gives_unit_norm_weights_and_unit_variance_outputs():
    from gangrid.nets.stylegan2 import ModulatedConv2d, modulate

    gen = torch.Generator().manual_seed(0)
    w = modulate(torch.randn(8, 6, 3, 3, generator=gen), torch.rand(2, 6, generator=gen) * 3)
    assert torch.allclose(w.pow(2).sum(dim=(2, 3, 4)), torch.ones(2, 8), atol=1e-5)
    torch.manual_seed(0)
    conv = ModulatedConv2d(16, 8, 3, w_dim=4)
    x = torch.randn(2, 16, 64, 64, generator=gen)
    style_w = torch.randn(2, 4, generator=gen)
    with torch.no_grad():
        y = conv(x, style_w)
        per_sample = modulate(conv.weight * conv.scale, conv.affine(style_w))  # the weight form, one conv per sample
        grouped = torch.cat([F.conv2d(x[i : i + 1], per_sample[i], padding=1) for i in range(2)])
    assert torch.allclose(y, grouped, atol=1e-4)
    y = y[:, :, 1:-1, 1:-1]  # interior: no zero padding in the window
    assert float(y.var()) == pytest.approx(1.0, abs=0.03)
    weight, styles = torch.randn(8, 16, 3, 3, generator=gen) / 12.0, torch.rand(1, 16, generator=gen) + 0.5
    for demod, ratio in ((True, 1.0), (False, 9.0)):  # styles x 3: same variance with demodulation, 9 x without
        v1, v3 = (float(F.conv2d(x[:1], modulate(weight, k * styles, demod)[0]).var()) for k in (1.0, 3.0))
        assert v3 / v1 == pytest.approx(ratio, rel=1e-4)


def test_path_lengths_are_the_norms_of_the_jacobian_transpose_times_y():
    from gangrid.tricks.path_length import path_lengths, path_penalty

    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 16, generator=gen), torch.randn(3, 16, generator=gen)
    ws = torch.randn(2, 2, 3, generator=gen, requires_grad=True)  # two layers' styles
    images = (ws[:, 0] @ a + ws[:, 1] @ b).view(2, 1, 4, 4)
    noise = torch.randn(2, 1, 4, 4, generator=gen)
    y = noise.flatten(1) / 4.0  # y = noise / sqrt(H W); J^T y per layer = A y, B y; the norm averages the layers
    expected = (((y @ a.t()).pow(2).sum(1) + (y @ b.t()).pow(2).sum(1)) / 2).sqrt()
    assert torch.allclose(path_lengths(images, ws, noise), expected, atol=1e-6)
    assert float(path_penalty(torch.tensor([1.0, 3.0]), torch.tensor(2.0))) == pytest.approx(1.0)


def test_lazy_r1_applies_every_kth_d_step_scaled_by_k():
    from gangrid.tricks import DBatch
    from gangrid.tricks.r1 import R1, r1_penalty

    class Lin(torch.nn.Module):
        def forward(self, x, y=None):
            return x.flatten(1).pow(2).sum(1)

    class T:
        d = Lin()

    r1 = R1(gamma=2.0, every=3)
    values = []
    for _ in range(4):
        real, _ = r1.d_inputs(T, torch.ones(2, 1, 2, 2), torch.zeros(2, 1, 2, 2))
        logits = T.d(real)
        values.append(float(r1.d_penalties(T, DBatch(real, real, logits, logits, real, real))["r1"].detach()))
    full = 0.5 * 2.0 * 3 * float(r1_penalty(2 * torch.ones(2, 4)))  # grad of sum x^2 = 2x; x 3 for the interval
    assert values == pytest.approx([full, 0.0, 0.0, full])


# ------------------------------------------------------------------ Salimans et al. 2016 tricks


def test_historical_averaging_is_the_distance_to_the_mean_of_past_parameters():
    from gangrid.tricks.historical_averaging import distance_to_mean, update_mean

    p = [torch.tensor([1.0, 2.0])]
    means = [p[0].clone()]
    history = [p[0].clone()]
    for step, value in enumerate(([3.0, 2.0], [5.0, 8.0]), start=1):
        p[0] = torch.tensor(value)
        update_mean(means, p, step)
        history.append(p[0].clone())
    assert torch.allclose(means[0], torch.stack(history).mean(0))  # (1 + 3 + 5) / 3, (2 + 2 + 8) / 3
    assert float(distance_to_mean([torch.tensor([0.0, 0.0])], means)) == pytest.approx(3.0**2 + 4.0**2)


def test_virtual_batch_norm_normalises_each_example_with_the_reference_plus_itself():
    from gangrid.tricks.virtual_batch_norm import VirtualBatchNorm

    gen = torch.Generator().manual_seed(0)
    bn = torch.nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
        bn.bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
    vbn = VirtualBatchNorm(bn, n_ref=5)
    ref, x = torch.randn(5, 3, 4, 4, generator=gen), torch.randn(2, 3, 4, 4, generator=gen) * 3 + 1
    out = vbn(torch.cat([ref, x]))
    plain = torch.nn.functional.batch_norm
    assert torch.allclose(out[:5], plain(ref, None, None, bn.weight, bn.bias, True, 0.0, bn.eps), atol=1e-5)
    for i in range(2):  # example i: batch norm over the batch "reference + example i"
        joint = plain(torch.cat([ref, x[i : i + 1]]), None, None, bn.weight, bn.bias, True, 0.0, bn.eps)
        assert torch.allclose(out[5 + i], joint[-1], atol=1e-5)


def test_virtual_batch_norm_makes_an_output_independent_of_its_batch():
    from tricks_util import make_trainer, tiny_config

    cfg = tiny_config("dcgan16", "ns", "vbn")
    cfg["tricks"]["virtual_batch_norm"]["reference"] = 8
    trainer = make_trainer(cfg, IMG)
    trainer.iteration()
    g = trainer.g.train()
    z = torch.randn(6, 8)
    with torch.no_grad():
        assert torch.allclose(g(z)[:1], g(z[:1]), atol=1e-5)  # training mode, yet no cross-example dependence


# ------------------------------------------------------------------ AAE / BiGAN


def test_encoder_shapes_priors_and_the_joint_d_input():
    from gangrid.nets import build_nets

    torch.manual_seed(0)
    cfg = {"name": "e", "z_dim": 6, "g_ch": 4, "d_ch": 4, "d_hidden": 5}
    g, d = build_nets({**cfg, "family": "aae", "prior": "mixture", "components": 4, "prior_radius": 4.0, "prior_std": 0.1}, IMG)
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    assert g.encode(x).shape == (3, 6) and g(g.encode(x)).shape == (3, 1, 16, 16) and d(g.encode(x)).logits.shape == (3,)
    z = g.sample_latent(2000, torch.Generator().manual_seed(0))
    radius = z[:, :2].norm(dim=1)
    assert float((radius - 4.0).abs().max()) < 1.0 and float(z[:, 2:].std()) == pytest.approx(0.1, rel=0.1)
    g, d = build_nets({**cfg, "family": "bigan", "prior": "uniform", "dropout": 0.0}, IMG)
    z = g.sample_latent(3)
    assert float(z.abs().max()) <= 1.0 and g.encode(x).shape == (3, 6)
    assert d.joint(x, z).shape == (3, 10)  # [image features, latent features]
    changed = z.clone()
    changed[0] += 1.0
    out, out2 = d(x, z).logits, d(x, changed).logits
    assert out[0] != out2[0] and torch.equal(out[1:], out2[1:])  # D scores the pair, per sample


def test_bigan_generator_and_encoder_minimise_the_inverted_objective():
    from gangrid.kinds.encoder.trainer import inverted_loss

    real, fake = torch.tensor([0.3, -1.0]), torch.tensor([2.0, 0.5])
    expected = (F.softplus(-fake).mean() + F.softplus(real).mean())  # -log D(G(z), z) - log(1 - D(x, E(x)))
    assert float(inverted_loss(get_loss("ns"), real, fake)) == pytest.approx(float(expected))


def test_encoder_metrics_known_values():
    from gangrid.metrics.encoders import linear_probe_accuracy, reconstruction_mse

    class Half(torch.nn.Module):  # E = identity, G = half of z: rec = x / 2
        def encode(self, x):
            return x

        def forward(self, z, y=None):
            return z / 2

    x = np.full((2, 1, 2, 2), 255, np.uint8)  # model space 1 -> rec 0.5: error 0.5 on [-1, 1], 0.25 on [0, 1]
    assert reconstruction_mse(Half(), x, torch.device("cpu")) == pytest.approx(0.25**2)
    feats = np.array([[0.0], [0.1], [1.0], [1.1]])
    assert linear_probe_accuracy(feats, np.array([0, 0, 1, 1]), feats[::-1], np.array([1, 1, 0, 0])) == 1.0


# ------------------------------------------------------------------ SRGAN


def test_pixelshuffle_upsampling_and_srresnet_shapes():
    from gangrid.nets import build_nets
    from gangrid.nets.srgan import upsample_block

    block = upsample_block(4)
    h = torch.randn(2, 4, 5, 5)
    assert block[0](h).shape == (2, 16, 5, 5) and block(h).shape == (2, 4, 10, 10)
    t = torch.arange(16.0).view(1, 4, 2, 2)
    assert torch.nn.PixelShuffle(2)(t)[0, 0, :2, :2].tolist() == [[0.0, 4.0], [8.0, 12.0]]  # channel c -> offset (c // 2, c % 2)
    for factor, lr_size in ((2, 8), (4, 4)):
        g, d = build_nets({"family": "srgan", "name": "s", "factor": factor, "g_ch": 4, "blocks": 1, "d_ch": 4, "d_hidden": 8},
                          DataSpec("superres", (1, 16, 16), 10))
        assert len(g.upsample) == int(math.log2(factor))
        assert g(torch.randn(2, 1, lr_size, lr_size)).shape == (2, 1, 16, 16) and d(torch.randn(2, 1, 16, 16)).logits.shape == (2,)


def test_bicubic_downsampling_and_the_reference_upsampler():
    from gangrid.data.superres import bicubic_upsample, downsample
    from gangrid.metrics.translation import psnr

    flat = np.full((1, 1, 16, 16), 77, np.uint8)
    assert np.array_equal(downsample(flat, 2), np.full((1, 1, 8, 8), 77, np.uint8))
    assert np.array_equal(bicubic_upsample(downsample(flat, 4), 4), flat) and psnr(flat, flat) == pytest.approx(100.0)
    ramp = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (1, 1, 16, 1))
    lr = downsample(ramp, 2)
    assert lr.shape == (1, 1, 8, 8) and lr[0, 0, 0, 3] == pytest.approx((ramp[0, 0, 0, 6] + ramp[0, 0, 0, 7]) / 2, abs=1)
    up = torch.nn.functional.interpolate(torch.from_numpy(lr).float(), scale_factor=2, mode="bicubic", align_corners=False)
    assert np.array_equal(bicubic_upsample(lr, 2), up.round().clamp(0, 255).byte().numpy())


def test_content_losses_pixel_and_a_missing_vgg_file_named_by_its_key(tmp_path):
    from gangrid.errors import ConfigError
    from gangrid.kinds.superres.content import content_features, content_loss

    cpu = torch.device("cpu")
    pixel = content_features({"name": "s", "content": "pixel"}, "digits_sr", cpu)
    sr, hr = torch.zeros(2, 1, 4, 4), torch.full((2, 1, 4, 4), 0.5)
    assert float(content_loss(pixel, sr, hr)) == pytest.approx(0.25)
    with pytest.raises(ConfigError, match=r"^archs\.s\.vgg_weights: VGG-19 weights file .* not found \(it is never downloaded\)"):
        content_features({"name": "s", "content": "vgg19", "vgg_weights": str(tmp_path / "vgg19.pth")}, "digits_sr", cpu)
