"""Conditional GAN by label concatenation (Mirza & Osindero 2014).

G sees [z, embed(y)]; D sees the image together with the label.
`body: conv` (default): a DCGAN-style G on [z, embed(y)], and a DCGAN-style D whose input is
the image with K one-hot label planes appended as channels.
`body: mlp`: MLPs: G [z, embed(y)] -> 128 -> 256 -> 512 -> image (norm after the
first layer), D [x, embed(y)] -> 512 -> 256 -> 1 with LeakyReLU 0.2. Some reference code passes 0.8 as
BatchNorm1d's second argument, which is eps, not momentum; we keep PyTorch's defaults.

Preset keys: body (conv | mlp), embed_dim (K), g_ch / d_ch (64), g_norm / d_norm, upsample,
attention (conv body), g_widths / d_widths (mlp body), dropout / mbstd / mbdisc.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from gangrid.nets import DataSpec, DOut, register_family, require
from gangrid.nets.blocks import DOptions, check_conv_resolution, check_image, conv_encoder, conv_generator, one_hot, preset_name
from gangrid.nets.common import MinibatchStdDev, norm1d

BODIES = ("conv", "mlp")


class LabelConcatGenerator(nn.Module):
    """G(z, y) = net([z, embed(y)]) for a net mapping vectors to images."""

    def __init__(self, net: nn.Module, n_classes: int, embed_dim: int, out_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_classes, embed_dim)
        self.net = net
        self.out_shape = out_shape

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            raise ValueError("conditional generator needs labels y")
        return self.net(torch.cat([z, self.embed(y)], dim=1)).view(z.shape[0], *self.out_shape)


class LabelPlanesDiscriminator(nn.Module):
    """D(x, y): conv encoder on [x, one-hot(y) broadcast to H x W planes] -> Linear -> logit."""

    def __init__(self, cfg: dict[str, Any], data: DataSpec) -> None:
        super().__init__()
        self.n_classes = data.n_classes
        self.encoder = conv_encoder(cfg, data, extra_channels=data.n_classes)
        self.head = nn.Linear(self.encoder.out_dim, 1)
        nn.init.normal_(self.head.weight, 0.0, 0.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        if y is None:
            raise ValueError("conditional discriminator needs labels y")
        planes = one_hot(y, self.n_classes, x.dtype)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        h = self.encoder(torch.cat([x, planes], dim=1))
        return DOut(self.head(h).squeeze(1), h)


def mlp(dims: list[int], norm: str, act: nn.Module, dropout: float = 0.0, norm_from: int = 1) -> list[nn.Module]:
    """[Linear, norm (from layer `norm_from` on), activation, dropout] for consecutive `dims`."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers += [nn.Linear(a, b), norm1d(norm, b) if i >= norm_from else nn.Identity(), act]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return layers


class MLPLabelDiscriminator(nn.Module):
    """D(x, y) = MLP([flatten(x), embed(y)]) with LeakyReLU 0.2 (the MLP cGAN discriminator)."""

    def __init__(self, data: DataSpec, hidden: list[int], embed_dim: int, norm: str, opts: DOptions) -> None:
        super().__init__()
        self.embed = nn.Embedding(data.n_classes, embed_dim)
        dims = [math.prod(data.shape) + embed_dim, *hidden]
        self.body = nn.Sequential(*mlp(dims, norm, nn.LeakyReLU(0.2), opts.dropout))
        self.mbstd = MinibatchStdDev(opts.mbstd) if opts.mbstd else None
        self.mbdisc, extra = opts.mbdisc_layer(dims[-1] + (1 if opts.mbstd else 0))
        self.head = nn.Linear(dims[-1] + (1 if opts.mbstd else 0) + extra, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        if y is None:
            raise ValueError("conditional discriminator needs labels y")
        h = self.body(torch.cat([x.flatten(1), self.embed(y)], dim=1))
        if self.mbstd is not None:
            h = self.mbstd(h)
        if self.mbdisc is not None:
            h = self.mbdisc(h)
        return DOut(self.head(h).squeeze(1), h)


def check_cgan(cfg: dict[str, Any], data: DataSpec) -> None:
    """Labelled square images; conv body: the conv-stack resolutions; mlp body: any size."""
    _, res = check_image(cfg, data, "cgan", conditional=True)
    body = cfg.get("body", "conv")
    require(body in BODIES, f"archs.{preset_name(cfg, 'cgan')}.body: unknown body '{body}' (known: {', '.join(BODIES)})")
    if body == "conv":
        check_conv_resolution(cfg, res, "cgan")


@register_family("cgan", check=check_cgan)
def build_cgan(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build a label-concatenation conditional G and D (conv or MLP body)."""
    z_dim, k = int(cfg["z_dim"]), data.n_classes
    embed_dim = int(cfg.get("embed_dim", k))
    if cfg.get("body", "conv") == "mlp":
        g_widths = [int(h) for h in cfg.get("g_widths", [128, 256, 512])]
        dims = [z_dim + embed_dim, *g_widths]
        net = nn.Sequential(*mlp(dims, cfg.get("g_norm", "batch"), nn.ReLU()), nn.Linear(dims[-1], math.prod(data.shape)), nn.Tanh())
        g = LabelConcatGenerator(net, k, embed_dim, data.shape)
        d = MLPLabelDiscriminator(data, [int(h) for h in cfg.get("d_widths", [512, 256])], embed_dim, cfg.get("d_norm", "none"), DOptions.from_cfg(cfg))
        return g, d
    g = LabelConcatGenerator(conv_generator(cfg, data, z_dim + embed_dim), k, embed_dim, data.shape)
    return g, LabelPlanesDiscriminator(cfg, data)
