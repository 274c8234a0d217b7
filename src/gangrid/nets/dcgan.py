"""DCGAN (Radford et al. 2016) for square images of 8, 16, 32, 64, ... pixels.

G: z -> 4x4 projection -> [upsample x2, norm, ReLU] x log2(res/4) -> tanh.
D: [stride-2 conv, norm (not on the first layer), LeakyReLU 0.2] x log2(res/4) -> 4x4 conv -> logit.
N(0, 0.02) initialisation. Preset keys: base (channels at full resolution, default 64),
upsample (convt | upsample | pixelshuffle), g_norm / d_norm (batch, instance, layer,
group, none), attention (feature-map size of a SAGAN self-attention block in G and D,
0 = none), plus pack / mbstd / mbdisc / dropout for the discriminator.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from gangrid.nets import DataSpec, DOut, register_family, require
from gangrid.nets.attention import SelfAttention
from gangrid.nets.common import MinibatchDiscrimination, MinibatchStdDev, dcgan_init, norm2d

UPSAMPLE_MODES = ("convt", "upsample", "pixelshuffle")


def up_block(c_in: int, c_out: int, mode: str) -> nn.Module:
    """Double the spatial size: transposed conv, nearest upsample + conv, or conv + PixelShuffle."""
    if mode == "convt":
        return nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)
    if mode == "upsample":
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False))
    if mode == "pixelshuffle":
        return nn.Sequential(nn.Conv2d(c_in, c_out * 4, 3, 1, 1, bias=False), nn.PixelShuffle(2))
    raise ValueError(mode)


class DCGANGenerator(nn.Module):
    """Transposed-conv (or upsampling) generator ending in tanh."""

    def __init__(self, z_dim: int, data: DataSpec, base: int, norm: str, upsample: str, attention: int = 0) -> None:
        super().__init__()
        self.z_dim = z_dim
        channels, res = data.shape[0], data.shape[1]
        n_up = int(math.log2(res // 4))
        widths = [base * 2 ** (n_up - 1 - i) for i in range(n_up)]  # e.g. 32px, base 64: 256, 128, 64
        self.project = nn.Sequential(
            nn.ConvTranspose2d(z_dim, widths[0], 4, 1, 0, bias=False), norm2d(norm, widths[0]), nn.ReLU(True)
        )
        blocks: list[nn.Module] = [SelfAttention(widths[0])] if attention == 4 else []
        for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])):
            blocks += [up_block(c_in, c_out, upsample), norm2d(norm, c_out), nn.ReLU(True)]
            if attention == 8 * 2**i:
                blocks.append(SelfAttention(c_out))
        blocks += [up_block(widths[-1], channels, upsample), nn.Tanh()]
        self.body = nn.Sequential(*blocks)
        dcgan_init(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(self.project(z.view(z.shape[0], -1, 1, 1)))


class DCGANDiscriminator(nn.Module):
    """Strided-conv discriminator; features are the flattened 4x4 map before the last conv."""

    def __init__(self, data: DataSpec, base: int, norm: str, pack: int, mbstd: int, dropout: float,
                 mbdisc: dict[str, int] | None = None, attention: int = 0) -> None:
        super().__init__()
        channels, res = data.shape[0] * pack, data.shape[1]
        n_down = int(math.log2(res // 4))
        widths = [base * 2**i for i in range(n_down)]
        blocks: list[nn.Module] = []
        c_in = channels
        for i, c_out in enumerate(widths):
            blocks += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=(i == 0)), nn.Identity() if i == 0 else norm2d(norm, c_out), nn.LeakyReLU(0.2, True)]
            if dropout > 0:
                blocks.append(nn.Dropout(dropout))
            if attention == res // 2 ** (i + 1):
                blocks.append(SelfAttention(c_out))
            c_in = c_out
        self.body = nn.Sequential(*blocks)
        self.mbstd = MinibatchStdDev(mbstd) if mbstd else None
        c_in += 1 if mbstd else 0
        self.mbdisc = MinibatchDiscrimination(c_in * 16, int(mbdisc["kernels"]), int(mbdisc["dim"])) if mbdisc else None
        self.head = nn.Conv2d(c_in + (int(mbdisc["kernels"]) if mbdisc else 0), 1, 4, 1, 0)
        dcgan_init(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        h = self.body(x)
        if self.mbstd is not None:
            h = self.mbstd(h)
        if self.mbdisc is not None:
            h = self.mbdisc(h)
        return DOut(self.head(h).flatten(), h.flatten(1))


def check_dcgan(cfg: dict[str, Any], data: DataSpec) -> None:
    """DCGAN needs square images whose side is a power of two, at least 8."""
    name = cfg.get("name", "dcgan")
    require(data.kind == "image", f"archs.{name}: DCGAN needs image data, not {data.kind}")
    c, h, w = data.shape
    require(h == w and h >= 8 and h & (h - 1) == 0, f"archs.{name}: resolution {h}x{w} not supported by DCGAN (needs a square power of two >= 8)")
    require(cfg.get("upsample", "convt") in UPSAMPLE_MODES, f"archs.{name}.upsample: unknown mode '{cfg.get('upsample')}' (known: {', '.join(UPSAMPLE_MODES)})")
    require(int(cfg.get("base", 64)) >= 1, f"archs.{name}.base: must be >= 1, got {cfg.get('base')}")
    att, inner = int(cfg.get("attention", 0) or 0), [2**i for i in range(2, int(math.log2(h)))]
    require(att == 0 or att in inner, f"archs.{name}.attention: {att} is not an inner feature-map size {inner}")


@register_family("dcgan", check=check_dcgan)
def build_dcgan(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build a DCGAN generator/discriminator pair for the data's resolution."""
    base = int(cfg.get("base", 64))
    att = int(cfg.get("attention", 0) or 0)
    g = DCGANGenerator(int(cfg["z_dim"]), data, int(cfg.get("g_base", base)), cfg.get("g_norm", "batch"), cfg.get("upsample", "convt"), att)
    d = DCGANDiscriminator(data, int(cfg.get("d_base", base)), cfg.get("d_norm", "batch"), int(cfg.get("pack", 1)), int(cfg.get("mbstd", 0)), float(cfg.get("dropout", 0.0)), cfg.get("mbdisc"), att)
    return g, d
