"""Layers shared by the architecture families: discriminator options, DCGAN-style conv stacks
(with optional SAGAN self-attention, `gangrid.nets.attention`), conditional normalisation,
and the ProGAN/StyleGAN layers (equalized learning rate, pixel norm).

The conv stacks handle any square resolution `s * 2**k` with a start size `s` in 4..7
(16 -> 4x4 start, 28 -> 7x7, 32 -> 4x4, 64 -> 4x4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gangrid.nets import DataSpec, require
from gangrid.nets.attention import SelfAttention
from gangrid.nets.common import NORMS, MinibatchDiscrimination, MinibatchStdDev, dcgan_init, norm2d
from gangrid.nets.dcgan import UPSAMPLE_MODES, up_block

# ---------------------------------------------------------------------------------------------
# configuration helpers


@dataclass(frozen=True)
class DOptions:
    """Discriminator options that tricks set through `arch_overrides`: PacGAN `pack`
    (input channels x m), minibatch stddev group size `mbstd` (0 = off), `dropout` probability,
    minibatch discrimination `mbdisc` ({kernels, dim} or None)."""

    pack: int = 1
    mbstd: int = 0
    dropout: float = 0.0
    mbdisc: tuple[int, int] | None = None  # (kernels, dim)

    @classmethod
    def from_cfg(cls, cfg: dict[str, Any], mbstd: int = 0) -> "DOptions":
        """Read the options of an arch config (`mbstd` is the family's default group size)."""
        md = cfg.get("mbdisc")
        return cls(int(cfg.get("pack", 1)), int(cfg.get("mbstd", mbstd)), float(cfg.get("dropout", 0.0)),
                   (int(md["kernels"]), int(md["dim"])) if md else None)

    def mbdisc_layer(self, features: int) -> tuple[nn.Module | None, int]:
        """Minibatch discrimination on (B, features) vectors, and how many features it appends."""
        if self.mbdisc is None:
            return None, 0
        return MinibatchDiscrimination(features, *self.mbdisc), self.mbdisc[0]


def preset_name(cfg: dict[str, Any], default: str) -> str:
    """The preset's name for error messages (`archs.<name>`)."""
    return str(cfg.get("name", default))


def check_image(cfg: dict[str, Any], data: DataSpec, family: str, conditional: bool = False) -> tuple[int, int]:
    """Shared checks of the image families; returns (channels, resolution).

    Rejects non-image data, non-square images, bad norms / D options, and (for
    conditional families) unlabelled data and PacGAN packing (labels cannot be packed).
    """
    name = preset_name(cfg, family)
    require(data.kind == "image", f"archs.{name}: family '{family}' needs image data, not {data.kind}")
    c, h, w = data.shape
    require(h == w, f"archs.{name}: family '{family}' needs square images, got {h}x{w}")
    for key in ("g_norm", "d_norm"):
        if key in cfg:
            require(cfg[key] in NORMS, f"archs.{name}.{key}: unknown norm '{cfg[key]}' (known: {', '.join(NORMS)})")
    opts = DOptions.from_cfg(cfg)
    require(opts.pack >= 1, f"archs.{name}.pack: must be >= 1, got {opts.pack}")
    require(opts.mbstd >= 0, f"archs.{name}.mbstd: must be >= 0, got {opts.mbstd}")
    require(0.0 <= opts.dropout < 1.0, f"archs.{name}.dropout: must lie in [0, 1), got {opts.dropout}")
    for key in ("g_ch", "d_ch"):
        if key in cfg:
            require(int(cfg[key]) >= 1, f"archs.{name}.{key}: must be >= 1, got {cfg[key]}")
    if conditional:
        require(data.n_classes > 1, f"archs.{name}: family '{family}' is class-conditional and needs a labelled dataset")
        require(opts.pack == 1, f"archs.{name}: family '{family}' is class-conditional; PacGAN packing (pack={opts.pack}) is not supported")
    return c, h


def start_size(res: int) -> tuple[int, int]:
    """(start, n_doublings) with start in 4..7 and start * 2**n == res; (0, 0) if impossible."""
    if res < 4:
        return 0, 0
    n = int(math.floor(math.log2(res / 4)))
    start = res // 2**n
    return (start, n) if start * 2**n == res and 4 <= start <= 7 else (0, 0)


def check_conv_resolution(cfg: dict[str, Any], res: int, family: str) -> None:
    """Resolutions of the DCGAN-style conv stacks: s * 2**k with s in 4..7 and k >= 1."""
    start, n = start_size(res)
    require(n >= 1, f"archs.{preset_name(cfg, family)}: resolution {res}x{res} not supported by family '{family}' "
                    f"(needs s * 2**k with s in 4..7 and k >= 1, e.g. 16, 28, 32, 64)")
    mode = cfg.get("upsample", "convt")
    require(mode in UPSAMPLE_MODES, f"archs.{preset_name(cfg, family)}.upsample: unknown mode '{mode}' (known: {', '.join(UPSAMPLE_MODES)})")
    att = int(cfg.get("attention", 0) or 0)
    if att:
        sizes = [start * 2**i for i in range(n + 1)]
        require(att in sizes[:-1], f"archs.{preset_name(cfg, family)}.attention: {att} is not an inner feature-map size {sizes[:-1]}")


def one_hot(y: torch.Tensor, n_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Labels (B,) -> one-hot (B, n_classes)."""
    return F.one_hot(y.long(), n_classes).to(dtype)


# ---------------------------------------------------------------------------------------------
# DCGAN-style conv stacks (cGAN, AC-GAN, semi-supervised GAN, InfoGAN)


class ConvGenerator(nn.Module):
    """vector -> Linear -> s x s x (base * 2**(n-1)) -> [up x2, norm, ReLU] x (n-1) -> up x2 to C -> tanh.

    `attention` (a feature-map size) inserts a SAGAN block after the layer of that size.
    """

    def __init__(self, in_dim: int, channels: int, res: int, base: int, norm: str, upsample: str, attention: int = 0) -> None:
        super().__init__()
        start, n_up = start_size(res)
        widths = [base * 2 ** (n_up - 1 - i) for i in range(n_up)]
        self.start = start
        self.project = nn.Linear(in_dim, widths[0] * start * start, bias=False)
        self.project_act = nn.Sequential(norm2d(norm, widths[0]), nn.ReLU(True))
        layers: list[nn.Module] = []
        size = start
        if attention == size:
            layers.append(SelfAttention(widths[0]))
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            size *= 2
            layers += [up_block(c_in, c_out, upsample), norm2d(norm, c_out), nn.ReLU(True)]
            if attention == size:
                layers.append(SelfAttention(c_out))
        layers += [up_block(widths[-1], channels, upsample), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        x = self.project(h).view(h.shape[0], -1, self.start, self.start)
        return self.body(self.project_act(x))


class ConvEncoder(nn.Module):
    """[conv k4 s2, norm (not on the first layer), LeakyReLU 0.2, dropout] x n -> flattened features
    (with a minibatch-stddev channel when `mbstd` > 0, minibatch-discrimination features when
    `mbdisc` is set). `out_dim` is the feature size."""

    def __init__(self, channels: int, res: int, base: int, norm: str, opts: DOptions, attention: int = 0) -> None:
        super().__init__()
        start, n_down = start_size(res)
        layers: list[nn.Module] = []
        c_in, size = channels * opts.pack, res
        for i in range(n_down):
            c_out = base * 2**i
            size //= 2
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=(i == 0)), nn.Identity() if i == 0 else norm2d(norm, c_out), nn.LeakyReLU(0.2, True)]
            if opts.dropout > 0:
                layers.append(nn.Dropout(opts.dropout))
            if attention == size:
                layers.append(SelfAttention(c_out))
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.mbstd = MinibatchStdDev(opts.mbstd) if opts.mbstd else None
        flat = (c_in + (1 if opts.mbstd else 0)) * start * start
        self.mbdisc, extra = opts.mbdisc_layer(flat)
        self.out_dim = flat + extra

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = h.flatten(1)
        return self.mbdisc(h) if self.mbdisc is not None else h


# ---------------------------------------------------------------------------------------------
# conditional normalisation (projection cGAN, BigGAN)


def plain_norm2d(kind: str, channels: int) -> nn.Module:
    """A 2-D normalisation without learned affine parameters (for conditional norms)."""
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=False)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "layer":
        return nn.GroupNorm(1, channels, affine=False)
    if kind == "group":
        return nn.GroupNorm(min(32, channels // 4) or 1, channels, affine=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(kind)


class CondNorm2d(nn.Module):
    """Conditional normalisation: norm(x) * gain(c) + bias(c).

    With `n_classes`, c is a label and gain/bias are per-class embeddings (gain starts
    at 1): conditional batch norm of de Vries et al. / Miyato & Koyama. With `cond_dim`,
    c is a vector and gain = 1 + W_g c, bias = W_b c (BigGAN's shared embedding + z chunk).
    """

    def __init__(self, kind: str, channels: int, n_classes: int = 0, cond_dim: int = 0) -> None:
        super().__init__()
        self.norm = plain_norm2d(kind, channels)
        self.by_class = n_classes > 0
        if self.by_class:
            self.gain = nn.Embedding(n_classes, channels)
            self.bias = nn.Embedding(n_classes, channels)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)
        else:
            self.gain = nn.Linear(cond_dim, channels, bias=False)
            self.bias = nn.Linear(cond_dim, channels, bias=False)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gain = self.gain(c) if self.by_class else 1.0 + self.gain(c)
        return self.norm(x) * gain[:, :, None, None] + self.bias(c)[:, :, None, None]


class AffineNorm2d(nn.Module):
    """An unconditional norm with the CondNorm2d call signature (the condition is ignored)."""

    def __init__(self, kind: str, channels: int) -> None:
        super().__init__()
        self.norm = norm2d(kind, channels)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.norm(x)


# ---------------------------------------------------------------------------------------------
# ProGAN / StyleGAN layers


class PixelNorm(nn.Module):
    """b = a / sqrt(mean_c a^2 + eps) at every pixel (ProGAN, eps 1e-8); also normalises (B, F) vectors."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class EqualizedConv2d(nn.Module):
    """Conv with the equalized learning rate of ProGAN: weights ~ N(0, 1) scaled at run time by
    gain / sqrt(fan_in), so every layer learns at the same speed under Adam."""

    def __init__(self, c_in: int, c_out: int, kernel: int, padding: int = 0, gain: float = math.sqrt(2), bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale = gain / math.sqrt(c_in * kernel * kernel)
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Module):
    """Linear layer with equalized learning rate; `lr_mul` scales its effective learning rate
    (StyleGAN's mapping network uses 0.01): w ~ N(0, 1/lr_mul), used as w * lr_mul * gain / sqrt(fan_in)."""

    def __init__(self, d_in: int, d_out: int, gain: float = math.sqrt(2), lr_mul: float = 1.0, bias_init: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((d_out,), float(bias_init) / lr_mul))
        self.scale = lr_mul * gain / math.sqrt(d_in)
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


# ---------------------------------------------------------------------------------------------
# builders of the DCGAN-style stacks from a preset


def conv_generator(cfg: dict[str, Any], data: DataSpec, in_dim: int) -> ConvGenerator:
    """ConvGenerator from preset keys g_ch (64), g_norm (batch), upsample (convt), attention (0)."""
    g = ConvGenerator(in_dim, data.shape[0], data.shape[1], int(cfg.get("g_ch", 64)), cfg.get("g_norm", "batch"),
                      cfg.get("upsample", "convt"), int(cfg.get("attention", 0) or 0))
    dcgan_init(g)
    return g


def conv_encoder(cfg: dict[str, Any], data: DataSpec, extra_channels: int = 0) -> ConvEncoder:
    """ConvEncoder from preset keys d_ch (64), d_norm (batch), attention (0) and the D options;
    `extra_channels` are input planes appended to the image (label maps)."""
    enc = ConvEncoder(data.shape[0] + extra_channels, data.shape[1], int(cfg.get("d_ch", 64)), cfg.get("d_norm", "batch"),
                      DOptions.from_cfg(cfg), int(cfg.get("attention", 0) or 0))
    dcgan_init(enc)
    return enc
