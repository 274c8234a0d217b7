"""Translation nets: U-Net skips, PatchGAN grid and receptive field, ResNet generator, family checks."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from gangrid.config import ARCH_RECIPE
from gangrid.errors import ConfigError
from gangrid.nets import DataSpec, build_nets
from gangrid.nets.translation import (
    PatchDiscriminator,
    ResnetBlock,
    ResnetGenerator,
    InferenceDropout,
    UNetGenerator,
    arch_options,
    patch_grid,
    receptive_field,
)
from gangrid.tricks import build_tricks
from gangrid.nets.translation import TRANSLATION_FAMILIES
from translation_util import PARAMS, one_thread  # noqa: F401

TRANSLATION_PRESETS = [name for name, p in PARAMS["archs"].items() if p["family"] in TRANSLATION_FAMILIES]

PAIRED16 = DataSpec("paired", (1, 16, 16), 10)


def arch(family: str, **options) -> dict:
    return {"name": "t", "family": family, **options}


def test_unet_concatenates_each_encoder_map_with_the_decoder_map_of_the_same_resolution():
    torch.manual_seed(0)
    g = UNetGenerator(3, 2, ngf=4, depth=5, dropout=0.0).eval()
    x = torch.randn(2, 3, 32, 32)
    seen: dict[int, torch.Tensor] = {}
    outputs: dict[int, torch.Tensor] = {}

    def record(i: int):
        def hook(module, inputs, output) -> None:
            seen[i], outputs[i] = inputs[0], output
        return hook

    for i, block in enumerate(g.up):
        block.register_forward_hook(record(i))
    y = g(x)
    skips = g.encode(x)
    assert [tuple(s.shape) for s in skips] == [(2, 4, 16, 16), (2, 8, 8, 8), (2, 16, 4, 4), (2, 32, 2, 2), (2, 32, 1, 1)]
    assert tuple(seen[4].shape) == (2, 32, 1, 1)  # innermost: the bottleneck alone
    for i in range(4):  # decoder level i sees [output of level i + 1, encoder map i]
        up, skip = outputs[i + 1], skips[i]
        assert seen[i].shape == (2, up.shape[1] + skip.shape[1], *skip.shape[2:])
        assert torch.equal(seen[i][:, : up.shape[1]], up)
        assert torch.equal(seen[i][:, up.shape[1]:], skip)
    assert y.shape == (2, 2, 32, 32) and float(y.detach().abs().max()) <= 1.0


def test_unet_256_has_the_papers_encoder_and_dropout_in_three_decoder_layers():
    g = UNetGenerator(3, 3)  # defaults: ngf 64, depth 8
    assert g.channels == [64, 128, 256, 512, 512, 512, 512, 512]
    with_dropout = [i for i, block in enumerate(g.up) if any(isinstance(m, InferenceDropout) for m in block)]
    assert with_dropout == [5, 6, 7]  # the three innermost decoder layers (CD512 x 3), never the output layer
    assert not any(isinstance(m, nn.BatchNorm2d) for m in g.down[0]) and not any(isinstance(m, nn.BatchNorm2d) for m in g.down[7])


def test_unet_dropout_stays_on_at_test_time_unless_disabled():
    torch.manual_seed(0)
    x = torch.randn(4, 1, 16, 16)
    on = UNetGenerator(1, 1, ngf=8, depth=4).eval()
    assert not torch.equal(on(x), on(x))
    off = UNetGenerator(1, 1, ngf=8, depth=4, dropout_at_test=False).eval()
    assert torch.equal(off(x), off(x))


@pytest.mark.parametrize("n_layers, kernel, size", [(3, 4, 256), (3, 4, 128), (1, 4, 16), (0, 4, 16), (2, 4, 32), (1, 3, 16)])
def test_patchgan_output_grid_matches_the_formula(n_layers, kernel, size):
    d = PatchDiscriminator(2, ndf=4, n_layers=n_layers, kernel=kernel)
    out = d(torch.zeros(1, 2, size, size))
    assert out.logits.shape == (1, 1, patch_grid(size, n_layers, kernel), patch_grid(size, n_layers, kernel))
    assert out.features.shape == (1, 4 * min(2**n_layers, 8))


def test_patchgan_70_has_a_30x30_grid_at_256_px():
    assert receptive_field(3, 4) == 70 and patch_grid(256, 3, 4) == 30
    assert [receptive_field(n) for n in (0, 1, 2, 4)] == [7, 16, 34, 142]


@pytest.mark.parametrize("n_layers, kernel", [(3, 4), (1, 4), (0, 4), (1, 3)])
def test_patchgan_receptive_field_is_the_support_of_one_outputs_gradient(n_layers, kernel):
    torch.manual_seed(0)
    d = PatchDiscriminator(1, ndf=4, n_layers=n_layers, kernel=kernel, norm="none").double()
    size = 2 * receptive_field(n_layers, kernel) + 16
    x = torch.randn(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    logits = d(x).logits
    c = logits.shape[-1] // 2
    logits[0, 0, c, c].backward()
    rows = (x.grad[0, 0].abs() > 0).any(1).nonzero().flatten()
    cols = (x.grad[0, 0].abs() > 0).any(0).nonzero().flatten()
    rf = receptive_field(n_layers, kernel)
    assert int(rows[-1] - rows[0]) + 1 == rf and int(cols[-1] - cols[0]) + 1 == rf


def test_resnet_generator_keeps_the_shape_and_uses_residual_blocks():
    g = ResnetGenerator(3, 3, ngf=8, n_blocks=6, norm="instance")
    assert sum(isinstance(m, ResnetBlock) for m in g.modules()) == 6
    assert any(isinstance(m, nn.InstanceNorm2d) for m in g.modules())
    assert g(torch.randn(2, 3, 32, 32)).shape == (2, 3, 32, 32)


def test_resnet_block_is_the_identity_plus_its_body():
    block = ResnetBlock(4, "none")
    nn.init.zeros_(block.body[-2].weight)
    nn.init.zeros_(block.body[-2].bias)
    x = torch.randn(2, 4, 6, 6)
    assert torch.equal(block(x), x)


def test_cyclegan_defaults_follow_the_paper_by_resolution():
    assert arch_options("cyclegan", arch("cyclegan"), DataSpec("unpaired", (3, 256, 256)))["n_blocks"] == 9
    assert arch_options("cyclegan", arch("cyclegan"), DataSpec("unpaired", (3, 128, 128)))["n_blocks"] == 6
    assert arch_options("pix2pix", arch("pix2pix"), DataSpec("paired", (3, 256, 256)))["depth"] == 8


def test_families_build_one_or_two_directions():
    g, d = build_nets(arch("pix2pix", g_ch=8, d_ch=8, d_layers=1), PAIRED16)
    assert list(g.keys()) == ["ab"] and d.conditional and d["ab"].body[0].in_channels == 2
    assert isinstance(g["ab"], UNetGenerator)
    g, d = build_nets(arch("cyclegan", g_ch=8, d_ch=8, d_layers=1), PAIRED16)
    assert list(g.keys()) == ["ab", "ba"] and not d.conditional and d["ba"].body[0].in_channels == 1
    assert isinstance(g["ba"], ResnetGenerator)
    g, _ = build_nets(arch("cyclegan", g="unet", g_ch=8, d_ch=8, d_layers=1), PAIRED16)
    assert isinstance(g["ab"], UNetGenerator)


@pytest.mark.parametrize("options, message", [
    ({"depth": 5}, "depth"),
    ({"d_layers": 3}, "d_layers"),
    ({"norm": "weird"}, "norm"),
    ({"d_layer": 1}, "unknown option"),
    ({"g": "mlp"}, "generator"),
])
def test_family_check_names_the_bad_option(options, message):
    with pytest.raises(ConfigError, match=message):
        build_nets(arch("pix2pix", **options), PAIRED16)


def test_translation_families_refuse_gan_data():
    with pytest.raises(ConfigError, match="kind: translation"):
        build_nets(arch("pix2pix", d_layers=1), DataSpec("image", (1, 16, 16), 10))


@pytest.mark.parametrize("name", TRANSLATION_PRESETS)
def test_every_translation_preset_fits_its_resolution(name):
    preset = PARAMS["archs"][name]
    side = int(re.search(r"(\d+)(?:_|$)", name).group(1))  # the resolution ending the preset's name
    cfg = {**{k: v for k, v in preset.items() if k not in ARCH_RECIPE}, "name": name}
    data = DataSpec("paired", (1, side, side), 10)
    from gangrid.nets import get_family

    get_family(preset["family"]).check(cfg, data)
    assert {t.name for t in build_tricks(preset["tricks"])} >= ({"l1_target"} if preset["family"] == "pix2pix" else {"cycle"})
    if side == 16:
        g, d = build_nets(cfg, data)
        x = torch.zeros(2, 1, 16, 16)
        assert all(g[k](x).shape == x.shape for k in g.keys())
