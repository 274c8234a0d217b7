"""A small MNIST conv GAN (DCGAN-style, Radford et al. 2016), for res = 4 * s.

G: z -> Linear -> (res/4)^2 x 128 -> norm, ReLU -> ConvT 128->64 k5 s2 -> norm, ReLU -> ConvT 64->C k5 s2 -> tanh.
D: Conv C->64 k5 s2, LeakyReLU 0.2 (no norm) -> Conv 64->128 k5 s2, norm, LeakyReLU 0.2 -> flatten -> Linear -> logit.
At 28 px this is the 7x7x128 projection and two 5x5 stride-2 blocks of the classic MNIST example;
D's sigmoid is left to the loss (losses work on logits). N(0, 0.02) initialisation.

Preset keys: g_ch (128: projection channels; the next block has half), d_ch (64: first D block;
the second has twice), g_norm / d_norm (batch, instance, layer, group, none), plus the D
options pack / mbstd / mbdisc / dropout.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gangrid.nets import DataSpec, DOut, register_family, require
from gangrid.nets.blocks import DOptions, check_image, preset_name
from gangrid.nets.common import MinibatchStdDev, dcgan_init, norm2d


class MnistConvGenerator(nn.Module):
    """7x7x128 projection and two transposed 5x5 stride-2 convolutions (for 28 px)."""

    def __init__(self, z_dim: int, channels: int, res: int, ch: int, norm: str) -> None:
        super().__init__()
        self.start = res // 4
        self.ch = ch
        self.project = nn.Linear(z_dim, ch * self.start**2, bias=False)
        self.body = nn.Sequential(
            norm2d(norm, ch), nn.ReLU(True),
            nn.ConvTranspose2d(ch, ch // 2, 5, 2, padding=2, output_padding=1, bias=False), norm2d(norm, ch // 2), nn.ReLU(True),
            nn.ConvTranspose2d(ch // 2, channels, 5, 2, padding=2, output_padding=1), nn.Tanh(),
        )
        dcgan_init(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(self.project(z).view(z.shape[0], self.ch, self.start, self.start))


class MnistConvDiscriminator(nn.Module):
    """Two 5x5 stride-2 convolutions and a linear head; features are the flattened last map."""

    def __init__(self, channels: int, res: int, ch: int, norm: str, opts: DOptions) -> None:
        super().__init__()
        drop = [nn.Dropout(opts.dropout)] if opts.dropout > 0 else []
        self.body = nn.Sequential(
            nn.Conv2d(channels * opts.pack, ch, 5, 2, padding=2), nn.LeakyReLU(0.2, True), *drop,
            nn.Conv2d(ch, ch * 2, 5, 2, padding=2, bias=False), norm2d(norm, ch * 2), nn.LeakyReLU(0.2, True), *drop,
        )
        self.mbstd = MinibatchStdDev(opts.mbstd) if opts.mbstd else None
        flat = (ch * 2 + (1 if opts.mbstd else 0)) * (res // 4) ** 2
        self.mbdisc, extra = opts.mbdisc_layer(flat)
        self.head = nn.Linear(flat + extra, 1)
        dcgan_init(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        h = self.body(x)
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = h.flatten(1)
        if self.mbdisc is not None:
            h = self.mbdisc(h)
        return DOut(self.head(h).squeeze(1), h)


def check_mnist_conv(cfg: dict[str, Any], data: DataSpec) -> None:
    """Needs square images whose side is a multiple of 4 (28 px in the text), and g_ch >= 2."""
    _, res = check_image(cfg, data, "mnist_conv")
    require(res % 4 == 0 and res >= 8, f"archs.{preset_name(cfg, 'mnist_conv')}: resolution {res}x{res} not supported by family 'mnist_conv' (needs a multiple of 4, >= 8; the text uses 28)")
    require(int(cfg.get("g_ch", 128)) >= 2, f"archs.{preset_name(cfg, 'mnist_conv')}.g_ch: must be >= 2")


@register_family("mnist_conv", check=check_mnist_conv)
def build_mnist_conv(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build the case-study generator and discriminator."""
    c, res = data.shape[0], data.shape[1]
    g = MnistConvGenerator(int(cfg["z_dim"]), c, res, int(cfg.get("g_ch", 128)), cfg.get("g_norm", "batch"))
    d = MnistConvDiscriminator(c, res, int(cfg.get("d_ch", 64)), cfg.get("d_norm", "batch"), DOptions.from_cfg(cfg))
    return g, d
