"""Fully connected GAN (Goodfellow et al. 2014; the MLPs of the 2-D mode-collapse papers).

Preset keys: hidden (width, default 128), layers (hidden layers, default 2),
d_hidden / d_layers (default: same as G), g_norm / d_norm (batch, layer, none),
plus the discriminator options tricks set: pack (PacGAN), mbstd (group size),
mbdisc ({kernels, dim}: minibatch discrimination), dropout (probability).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from gangrid.nets import DataSpec, DOut, register_family, require
from gangrid.nets.common import MinibatchDiscrimination, MinibatchStdDev, norm1d, output_activation


class MLPGenerator(nn.Module):
    """z -> [Linear, norm, ReLU] x layers -> Linear -> tanh (images) or identity (points)."""

    def __init__(self, z_dim: int, data: DataSpec, hidden: int, layers: int, norm: str) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.out_shape = data.shape
        dims = [z_dim] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            blocks += [nn.Linear(a, b), norm1d(norm, b), nn.ReLU()]
        blocks += [nn.Linear(dims[-1], math.prod(data.shape)), output_activation(data.kind)]
        self.net = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """x (flattened, `pack` samples concatenated) -> [Linear, norm, LeakyReLU 0.2, dropout] x layers -> Linear."""

    def __init__(self, data: DataSpec, hidden: int, layers: int, norm: str, pack: int, mbstd: int, dropout: float,
                 mbdisc: dict[str, int] | None = None) -> None:
        super().__init__()
        dims = [math.prod(data.shape) * pack] + [hidden] * layers
        blocks: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            blocks += [nn.Linear(a, b), nn.Identity() if i == 0 else norm1d(norm, b), nn.LeakyReLU(0.2)]
            if dropout > 0:
                blocks.append(nn.Dropout(dropout))
        self.body = nn.Sequential(*blocks)
        self.mbstd = MinibatchStdDev(mbstd) if mbstd else None
        width = dims[-1] + (1 if mbstd else 0)
        self.mbdisc = MinibatchDiscrimination(width, int(mbdisc["kernels"]), int(mbdisc["dim"])) if mbdisc else None
        self.head = nn.Linear(width + (int(mbdisc["kernels"]) if mbdisc else 0), 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        h = self.body(x.flatten(1))
        if self.mbstd is not None:
            h = self.mbstd(h)
        if self.mbdisc is not None:
            h = self.mbdisc(h)
        return DOut(self.head(h).squeeze(1), h)


def check_mlp(cfg: dict[str, Any], data: DataSpec) -> None:
    """Reject non-positive widths or depths."""
    name = cfg.get("name", "mlp")
    for key in ("hidden", "layers", "d_hidden", "d_layers"):
        if key in cfg:
            require(int(cfg[key]) >= 1, f"archs.{name}.{key}: must be >= 1, got {cfg[key]}")


@register_family("mlp", check=check_mlp)
def build_mlp(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build an MLP generator and discriminator for points or (flattened) images."""
    hidden, layers = int(cfg.get("hidden", 128)), int(cfg.get("layers", 2))
    g = MLPGenerator(int(cfg["z_dim"]), data, hidden, layers, cfg.get("g_norm", "none"))
    d = MLPDiscriminator(
        data,
        int(cfg.get("d_hidden", hidden)),
        int(cfg.get("d_layers", layers)),
        cfg.get("d_norm", "none"),
        int(cfg.get("pack", 1)),
        int(cfg.get("mbstd", 0)),
        float(cfg.get("dropout", 0.0)),
        cfg.get("mbdisc"),
    )
    return g, d
