"""BigGAN-lite (Brock et al. 2019): a class-conditional ResNet GAN with
class-conditional batch norm fed by a shared class embedding and hierarchical latents,
self-attention, a projection discriminator, orthogonal regularisation and the truncation trick.

G: z is split into one chunk per residual block plus one for the 4x4 projection; block i's
conditional BN gains/biases are linear in [shared_embed(y), z_i] (gain = 1 + W_g c). A SAGAN
block follows the block at feature size `attention`. D: the SNGAN ResNet discriminator with a
projection head and a SAGAN block. The presets imply spectral norm in G and D and the
`orthogonal_reg` trick (beta 1e-4 on G's weights), and use Adam (0, 0.999) with G lr 1e-4,
D lr 4e-4 as in the paper.

Truncation trick: with `truncation: t` (> 0), G's prior in eval mode (sampling) is N(0, I)
truncated to |z_i| <= t by resampling; training always uses the full normal.

Preset keys: g_ch / d_ch, shared_dim (32; 128 in the paper), attention (feature size),
truncation (null = off), g_norm (batch), d_norm (none), d_blocks (2), pool (sum).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from gangrid.nets import DataSpec, register_family, require
from gangrid.nets.blocks import DOptions, SelfAttention, preset_name
from gangrid.nets.common import norm2d
from gangrid.nets.resnet import GBlock, ResDiscriminator, check_resnet, sngan_init


def truncated_normal(n: int, dim: int, threshold: float, generator: torch.Generator | None = None,
                     device: torch.device | str = "cpu") -> torch.Tensor:
    """N(0, I) samples with every entry resampled until |z_i| <= threshold."""
    z = torch.randn(n, dim, generator=generator, device=device)
    bad = z.abs() > threshold
    while bool(bad.any()):
        z[bad] = torch.randn(int(bad.sum()), generator=generator, device=device)
        bad = z.abs() > threshold
    return z


class BigGANGenerator(nn.Module):
    """Hierarchical-latent ResNet generator with shared-embedding conditional BN."""

    def __init__(self, z_dim: int, channels: int, res: int, ch: int, n_classes: int, shared_dim: int, norm: str,
                 attention: int = 0, truncation: float | None = None) -> None:
        super().__init__()
        n_blocks = int(math.log2(res // 4))
        self.z_dim, self.ch = z_dim, ch
        self.chunk = z_dim // (n_blocks + 1)
        self.first = z_dim - self.chunk * n_blocks  # the 4x4 projection takes the remainder too
        self.truncation = truncation
        self.shared = nn.Embedding(n_classes, shared_dim)
        self.project = nn.Linear(self.first, ch * 16)
        self.blocks = nn.ModuleList([GBlock(ch, ch, norm, cond_dim=shared_dim + self.chunk) for _ in range(n_blocks)])
        self.attn = nn.ModuleDict({str(i): SelfAttention(ch) for i in range(n_blocks) if attention == 8 * 2**i})
        self.out = nn.Sequential(norm2d(norm, ch), nn.ReLU(), nn.Conv2d(ch, channels, 3, 1, 1), nn.Tanh())
        sngan_init(self)
        nn.init.normal_(self.shared.weight, 0.0, 1.0)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """N(0, I); truncated to |z_i| <= truncation in eval mode when `truncation` is set."""
        device = torch.device("cpu") if generator is not None else next(self.parameters()).device
        if self.truncation and not self.training:
            return truncated_normal(n, self.z_dim, self.truncation, generator, device)
        return torch.randn(n, self.z_dim, generator=generator, device=device)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            raise ValueError("BigGAN generator needs labels y")
        e = self.shared(y)
        chunks = torch.split(z, [self.first] + [self.chunk] * len(self.blocks), dim=1)
        h = self.project(chunks[0]).view(z.shape[0], self.ch, 4, 4)
        for i, block in enumerate(self.blocks):
            h = block(h, torch.cat([e, chunks[i + 1]], dim=1))
            if str(i) in self.attn:
                h = self.attn[str(i)](h)
        return self.out(h)


def check_biggan(cfg: dict[str, Any], data: DataSpec) -> None:
    """The ResNet checks (labelled data), z_dim at least one per latent chunk, truncation > 0."""
    check_resnet(cfg, data, "biggan", conditional=True)
    name = preset_name(cfg, "biggan")
    n_chunks = int(math.log2(data.shape[1] // 4)) + 1
    require(int(cfg["z_dim"]) >= n_chunks, f"archs.{name}: z_dim {cfg['z_dim']} is smaller than the {n_chunks} latent chunks")
    t = cfg.get("truncation")
    require(t is None or float(t) > 0, f"archs.{name}.truncation: must be > 0 (or null), got {t!r}")
    require(int(cfg.get("shared_dim", 32)) >= 1, f"archs.{name}.shared_dim: must be >= 1")


@register_family("biggan", check=check_biggan)
def build_biggan(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build the BigGAN-lite generator and its projection discriminator."""
    c, res = data.shape[0], data.shape[1]
    att = int(cfg.get("attention", 0) or 0)
    t = cfg.get("truncation")
    g = BigGANGenerator(int(cfg["z_dim"]), c, res, int(cfg.get("g_ch", 64)), data.n_classes, int(cfg.get("shared_dim", 32)),
                        cfg.get("g_norm", "batch"), att, float(t) if t is not None else None)
    d = ResDiscriminator(c, res, int(cfg.get("d_ch", 64)), cfg.get("d_norm", "none"), DOptions.from_cfg(cfg),
                         int(cfg.get("d_blocks", 2)), att, data.n_classes, cfg.get("pool", "sum"))
    return g, d
