"""ResNet generator and discriminator of SNGAN (Miyato et al. 2018) and WGAN-GP (Gulrajani et al.
2017), 32 px in the papers, usable at 16 and 64 (square powers of two >= 16).

G: z -> Linear -> 4x4 x g_ch -> [residual up-block] x log2(res/4) -> norm, ReLU, conv3 -> tanh.
   Up-block: norm, ReLU, nearest x2, conv3, norm, ReLU, conv3 + (x2, conv1x1) shortcut.
D: optimized first down-block, down-blocks to 8x8, `d_blocks` (2) blocks without downsampling,
   ReLU, global sum pooling -> features (B, d_ch) -> Linear -> logit. D blocks are
   pre-activation (norm, ReLU, conv3) x 2 + (conv1x1, avgpool) shortcut.

Preset keys: g_ch (256 in SNGAN), d_ch (128), d_blocks (2), pool (sum as SNGAN, which keeps the
logit scale in check through spectral norm; mean as WGAN-GP), g_norm (batch), d_norm (none;
WGAN-GP's critic should use layer or none: BatchNorm breaks the per-sample gradient penalty),
attention (feature-map size of a SAGAN block in G and D, 0 = none), plus pack / mbstd /
mbdisc / dropout for D. The `projection` and `biggan` families reuse these blocks with conditioning.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gangrid.nets import DataSpec, DOut, register_family, require
from gangrid.nets.blocks import AffineNorm2d, CondNorm2d, DOptions, SelfAttention, check_image, preset_name
from gangrid.nets.common import MinibatchStdDev, norm2d


def sngan_init(module: nn.Module) -> None:
    """SNGAN's initialisation: Glorot-uniform weights with gain sqrt(2) for the 3x3 convs of the
    residual branches and 1 elsewhere (shortcuts, attention, heads, output conv); zero biases."""
    for name, m in module.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            gain = math.sqrt(2) if name.endswith(("conv1", "conv2")) else 1.0
            nn.init.xavier_uniform_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class GBlock(nn.Module):
    """Residual up-block; norms are conditional when `n_classes` (per-class) or `cond_dim` (vector) is set."""

    def __init__(self, c_in: int, c_out: int, norm: str, n_classes: int = 0, cond_dim: int = 0) -> None:
        super().__init__()
        conditional = n_classes > 0 or cond_dim > 0

        def make(c: int) -> nn.Module:
            return CondNorm2d(norm, c, n_classes, cond_dim) if conditional else AffineNorm2d(norm, c)

        self.norm1, self.norm2 = make(c_in), make(c_out)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = F.interpolate(F.relu(self.norm1(x, c)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), c)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DBlock(nn.Module):
    """Residual D block: pre-activation (norm, ReLU, conv3) x 2, optional 2x2 average pooling,
    conv1x1 shortcut when shapes change. The `first` block (SNGAN's optimized block) starts
    with a conv on the image, no activation before it, and pools its input before the shortcut conv."""

    def __init__(self, c_in: int, c_out: int, norm: str, down: bool, first: bool = False) -> None:
        super().__init__()
        self.first, self.down = first, down
        self.norm1 = nn.Identity() if first else norm2d(norm, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.norm2 = norm2d(norm, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if (c_in != c_out or down or first) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(self.norm1(x))
        h = self.conv2(F.relu(self.norm2(self.conv1(h))))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.first:
            s = self.shortcut(F.avg_pool2d(s, 2) if self.down else s)
        elif self.shortcut is not None:
            s = self.shortcut(s)
            if self.down:
                s = F.avg_pool2d(s, 2)
        return h + s


class ResGenerator(nn.Module):
    """SNGAN / WGAN-GP ResNet generator; class-conditional batch norm when `n_classes` > 0."""

    def __init__(self, z_dim: int, channels: int, res: int, ch: int, norm: str, attention: int = 0, n_classes: int = 0) -> None:
        super().__init__()
        self.ch = ch
        self.n_classes = n_classes
        self.project = nn.Linear(z_dim, ch * 16)
        self.blocks = nn.ModuleList()
        self.attn = nn.ModuleDict()
        size = 4
        for i in range(int(math.log2(res // 4))):
            self.blocks.append(GBlock(ch, ch, norm, n_classes=n_classes))
            size *= 2
            if attention == size:
                self.attn[str(i)] = SelfAttention(ch)
        self.out = nn.Sequential(norm2d(norm, ch), nn.ReLU(), nn.Conv2d(ch, channels, 3, 1, 1), nn.Tanh())
        sngan_init(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        c = y if self.n_classes else None
        h = self.project(z).view(z.shape[0], self.ch, 4, 4)
        for i, block in enumerate(self.blocks):
            h = block(h, c)
            if str(i) in self.attn:
                h = self.attn[str(i)](h)
        return self.out(h)


class ResDiscriminator(nn.Module):
    """SNGAN / WGAN-GP ResNet discriminator; a projection head (Miyato & Koyama 2018),
    logit = psi(h) + <embed(y), h>, when `n_classes` > 0."""

    def __init__(self, channels: int, res: int, ch: int, norm: str, opts: DOptions, extra_blocks: int = 2,
                 attention: int = 0, n_classes: int = 0, pool: str = "sum") -> None:
        super().__init__()
        self.pool = pool
        n_down = max(int(math.log2(res // 8)), 1)
        self.blocks = nn.ModuleList()
        self.attn = nn.ModuleDict()
        size, c_in = res, channels * opts.pack
        for i in range(n_down + extra_blocks):
            down = i < n_down
            self.blocks.append(DBlock(c_in, ch, norm, down=down, first=(i == 0)))
            size //= 2 if down else 1
            c_in = ch
            if attention == size and not self.attn:
                self.attn[str(i)] = SelfAttention(ch)
        self.dropout = nn.Dropout(opts.dropout) if opts.dropout > 0 else None
        self.mbstd = MinibatchStdDev(opts.mbstd) if opts.mbstd else None
        self.mbdisc, extra = opts.mbdisc_layer(ch + (1 if opts.mbstd else 0))
        self.out_dim = ch + (1 if opts.mbstd else 0) + extra
        self.head = nn.Linear(self.out_dim, 1)
        self.embed = nn.Embedding(n_classes, self.out_dim) if n_classes else None
        sngan_init(self)
        if self.embed is not None:
            nn.init.xavier_uniform_(self.embed.weight)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally sum- (SNGAN) or mean-pooled (WGAN-GP) features after the last block (B, out_dim)."""
        h = x
        for i, block in enumerate(self.blocks):
            h = block(h)
            if str(i) in self.attn:
                h = self.attn[str(i)](h)
            if self.dropout is not None:
                h = self.dropout(h)
        h = F.relu(h)
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = h.sum(dim=(2, 3)) if self.pool == "sum" else h.mean(dim=(2, 3))
        return self.mbdisc(h) if self.mbdisc is not None else h

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        h = self.features(x)
        logits = self.head(h).squeeze(1)
        if self.embed is not None:
            if y is None:
                raise ValueError("projection discriminator needs labels y")
            logits = logits + (self.embed(y) * h).sum(1)
        return DOut(logits, h)


def check_resnet(cfg: dict[str, Any], data: DataSpec, family: str = "resnet", conditional: bool = False) -> None:
    """Square power-of-two images >= 16 px; `attention` must be a feature-map size of G."""
    _, res = check_image(cfg, data, family, conditional)
    name = preset_name(cfg, family)
    require(res >= 16 and res & (res - 1) == 0, f"archs.{name}: resolution {res}x{res} not supported by family '{family}' (needs a square power of two >= 16)")
    att = int(cfg.get("attention", 0) or 0)
    sizes = [4 * 2**i for i in range(1, int(math.log2(res // 4)) + 1)]
    require(att == 0 or att in sizes[:-1], f"archs.{name}.attention: {att} is not an inner feature-map size {sizes[:-1]}")
    require(int(cfg.get("d_blocks", 2)) >= 0, f"archs.{name}.d_blocks: must be >= 0")
    require(cfg.get("pool", "sum") in ("sum", "mean"), f"archs.{name}.pool: must be sum or mean, got {cfg.get('pool')!r}")


def build_resnet_pair(cfg: dict[str, Any], data: DataSpec, n_classes: int = 0) -> tuple[ResGenerator, ResDiscriminator]:
    """G and D of the ResNet family; `n_classes` > 0 gives conditional BN in G and a projection D."""
    c, res = data.shape[0], data.shape[1]
    att = int(cfg.get("attention", 0) or 0)
    g = ResGenerator(int(cfg["z_dim"]), c, res, int(cfg.get("g_ch", 256)), cfg.get("g_norm", "batch"), att, n_classes)
    d = ResDiscriminator(c, res, int(cfg.get("d_ch", 128)), cfg.get("d_norm", "none"), DOptions.from_cfg(cfg),
                         int(cfg.get("d_blocks", 2)), att, n_classes, cfg.get("pool", "sum"))
    return g, d


@register_family("resnet", check=check_resnet)
def build_resnet(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build the unconditional SNGAN / WGAN-GP ResNet pair."""
    return build_resnet_pair(cfg, data)
