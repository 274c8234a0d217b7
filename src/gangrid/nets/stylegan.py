"""StyleGAN-lite (Karras et al. 2019) for square powers of two >= 8.

Mapping network: pixelnorm(z) -> `mapping_layers` (8) x [equalized dense, LeakyReLU 0.2],
learning-rate multiplier 0.01 -> w. Synthesis: a learned 4x4 constant, then two style layers
per resolution (the first of each higher resolution upsamples x2 and convolves; 4x4 starts
with the constant); every layer adds per-pixel noise scaled by learned per-channel weights
(initially 0), applies LeakyReLU 0.2, then AdaIN with a style (scale, bias) = A(w) of its
own. A 1x1 to_rgb and tanh (data in [-1, 1]) end the net. D is the ProGAN discriminator at
full resolution (minibatch stddev, equalized learning rate).

Style-mixing regularisation: while training, with probability `mixing_prob` (set by the
`style_mixing` trick, which the presets imply; the paper uses 0.9) a batch uses w1 for the layers before a random crossover and w2 = f(z2) after it.
Truncation in w: G keeps a moving average w_avg (decay 0.995) of w during training; in eval
mode (sampling) w' = w_avg + psi (w - w_avg) for the first `truncation_cutoff` layers
(psi = `truncation`, 1 = off).
`style_mixing_grid` draws the paper's style-mixing figure (see `StyleGenerator.figures`).

Preset keys: w_dim (128), mapping_layers (8), g_ch / d_ch (channels at full resolution, 32),
max_ch (256), truncation (1.0), truncation_cutoff (all layers), plus pack / mbstd (4) /
mbdisc / dropout for D.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gangrid.nets import DataSpec, register_family, require
from gangrid.nets.blocks import DOptions, EqualizedConv2d, EqualizedLinear, PixelNorm, preset_name
from gangrid.nets.progan import ProDiscriminator, check_progan, resolutions, widths


class MappingNetwork(nn.Module):
    """z -> w: pixel norm, then `layers` equalized dense layers with LeakyReLU 0.2 (lr multiplier 0.01)."""

    def __init__(self, z_dim: int, w_dim: int, layers: int, lr_mul: float = 0.01) -> None:
        super().__init__()
        mods: list[nn.Module] = [PixelNorm()]
        for i in range(layers):
            mods += [EqualizedLinear(z_dim if i == 0 else w_dim, w_dim, lr_mul=lr_mul), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*mods)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class NoiseInjection(nn.Module):
    """x + weight[c] * noise, noise ~ N(0, 1) of shape (B, 1, H, W) shared by all channels.

    With `fixed` set, every image gets the same stored noise map (the official code's
    non-randomised noise), so figures that compare styles are not confounded by noise.
    """

    def __init__(self, channels: int, size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))
        self.register_buffer("fixed_noise", torch.randn(1, 1, size, size))
        self.fixed = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fixed:
            noise = self.fixed_noise.to(x.dtype)
        else:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        return x + self.weight.view(1, -1, 1, 1) * noise


class AdaIN(nn.Module):
    """AdaIN(x, w) = scale(w) * instance_norm(x) + bias(w), (scale, bias) = A(w), scale starting near 1."""

    def __init__(self, channels: int, w_dim: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.scale = EqualizedLinear(w_dim, channels, gain=1.0, bias_init=1.0)
        self.bias = EqualizedLinear(w_dim, channels, gain=1.0)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.scale(w)[:, :, None, None] * self.norm(x) + self.bias(w)[:, :, None, None]


class StyleLayer(nn.Module):
    """[up x2] conv3 (none for the 4x4 constant's first layer), noise, bias + LeakyReLU 0.2, AdaIN."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, size: int, conv: bool, upsample: bool) -> None:
        super().__init__()
        self.upsample = upsample
        self.conv = EqualizedConv2d(c_in, c_out, 3, 1, bias=False) if conv else None
        self.noise = NoiseInjection(c_out, size)
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.adain = AdaIN(c_out, w_dim)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.conv is not None:
            x = self.conv(x)
        x = F.leaky_relu(self.noise(x) + self.bias.view(1, -1, 1, 1), 0.2)
        return self.adain(x, w)


class StyleGenerator(nn.Module):
    """Mapping network + style-based synthesis network; see the module docstring."""

    def __init__(self, z_dim: int, channels: int, res: int, w_dim: int, mapping_layers: int, ch: int, max_ch: int,
                 truncation: float = 1.0, truncation_cutoff: int | None = None) -> None:
        super().__init__()
        self.z_dim, self.n_res = z_dim, len(resolutions(res))
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers)
        self.build_synthesis(channels, res, w_dim, widths(res, ch, max_ch))
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.mixing_prob = 0.0  # set by the style_mixing trick
        self.w_avg_decay = 0.995
        self.truncation = float(truncation)
        self.truncation_cutoff = truncation_cutoff

    def build_synthesis(self, channels: int, res: int, w_dim: int, w: list[int]) -> None:
        """The synthesis network (`const`, `layers` with a `noise` each, `to_rgb`) for channel widths `w` per resolution."""
        self.const = nn.Parameter(torch.ones(1, w[0], 4, 4))
        layers = [StyleLayer(w[0], w[0], w_dim, 4, conv=False, upsample=False), StyleLayer(w[0], w[0], w_dim, 4, conv=True, upsample=False)]
        for size, c_in, c_out in zip(resolutions(res)[1:], w[:-1], w[1:]):
            layers += [StyleLayer(c_in, c_out, w_dim, size, conv=True, upsample=True),
                       StyleLayer(c_out, c_out, w_dim, size, conv=True, upsample=False)]
        self.layers = nn.ModuleList(layers)
        self.to_rgb = EqualizedConv2d(w[-1], channels, 1, gain=1.0)

    def fix_noise(self, fixed: bool) -> None:
        """Use each layer's stored noise map for every image (True) or fresh noise (False)."""
        for layer in self.layers:
            layer.noise.fixed = fixed

    @property
    def n_layers(self) -> int:
        """Number of style inputs (two per resolution)."""
        return len(self.layers)

    def synthesize(self, ws: torch.Tensor) -> torch.Tensor:
        """Images from per-layer styles ws (B, n_layers, w_dim)."""
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i])
        return torch.tanh(self.to_rgb(x))

    def truncate(self, ws: torch.Tensor, psi: float) -> torch.Tensor:
        """w_avg + psi (w - w_avg) on the first `truncation_cutoff` layers (all if None)."""
        cut = self.truncation_cutoff if self.truncation_cutoff is not None else self.n_layers
        out = ws.clone()
        out[:, :cut] = torch.lerp(self.w_avg.to(ws.dtype), ws[:, :cut], psi)
        return out

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        w = self.mapping(z)
        ws = w.unsqueeze(1).repeat(1, self.n_layers, 1)
        if self.training:
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().mean(0), 1.0 - self.w_avg_decay)
            if self.mixing_prob > 0 and float(torch.rand(())) < self.mixing_prob:  # CPU RNG: no device sync
                cross = int(torch.randint(1, self.n_layers, ()))
                ws[:, cross:] = self.mapping(torch.randn_like(z)).unsqueeze(1)
        elif self.truncation < 1.0:
            ws = self.truncate(ws, self.truncation)
        return self.synthesize(ws)

    def styles(self, z: torch.Tensor) -> torch.Tensor:
        """Per-layer styles (B, n_layers, w_dim) of z, truncated as in sampling when in eval mode."""
        ws = self.mapping(z).unsqueeze(1).repeat(1, self.n_layers, 1)
        return self.truncate(ws, self.truncation) if (not self.training and self.truncation < 1.0) else ws

    @torch.no_grad()
    def figures(self, seed: int = 0) -> dict[str, tuple[torch.Tensor, int]]:
        """The style-mixing figure with coarse styles from the row sources."""
        return {"style_mixing": style_mixing_grid(self, seed=seed)}


@torch.no_grad()
def style_mixing_grid(g: StyleGenerator, n_cols: int = 5, n_rows: int = 4, crossover: int | None = None, seed: int = 0) -> tuple[torch.Tensor, int]:
    """The StyleGAN style-mixing figure as (images, columns): the top row shows sources A (one
    per column), the left column sources B (one per row, top-left cell blank); cell (i, j) uses
    B_i's styles for layers < `crossover` (default: the coarse half of the resolutions) and
    A_j's styles for the rest."""
    gen = torch.Generator().manual_seed(seed)
    device = next(g.parameters()).device
    za = torch.randn(n_cols, g.z_dim, generator=gen).to(device)
    zb = torch.randn(n_rows, g.z_dim, generator=gen).to(device)
    wa, wb = g.styles(za), g.styles(zb)
    cross = crossover if crossover is not None else 2 * max(1, g.n_res // 2)
    g.fix_noise(True)  # the same noise in every cell: differences come from the styles only
    try:
        img_a, img_b = g.synthesize(wa), g.synthesize(wb)
        mixed = wa.unsqueeze(0).repeat(n_rows, 1, 1, 1)  # (rows, cols, layers, w_dim)
        mixed[:, :, :cross] = wb[:, None, :cross]
        img_mix = g.synthesize(mixed.flatten(0, 1)).view(n_rows, n_cols, *img_a.shape[1:])
    finally:
        g.fix_noise(False)
    blank = torch.zeros_like(img_a[:1])
    rows = [torch.cat([blank, img_a])] + [torch.cat([img_b[i : i + 1], img_mix[i]]) for i in range(n_rows)]
    return torch.cat(rows), n_cols + 1


def check_stylegan(cfg: dict[str, Any], data: DataSpec) -> None:
    """ProGAN's resolutions; w_dim, mapping_layers >= 1; truncation in (0, 1]."""
    check_progan(cfg, data, "stylegan")
    name = preset_name(cfg, "stylegan")
    for key in ("w_dim", "mapping_layers"):
        require(int(cfg.get(key, 1)) >= 1, f"archs.{name}.{key}: must be >= 1, got {cfg.get(key)}")
    psi = float(cfg.get("truncation", 1.0))
    require(0.0 < psi <= 1.0, f"archs.{name}.truncation: must lie in (0, 1], got {psi}")
    cutoff = cfg.get("truncation_cutoff")
    n_layers = 2 * len(resolutions(data.shape[1]))
    require(cutoff is None or (isinstance(cutoff, int) and 1 <= cutoff <= n_layers),
            f"archs.{name}.truncation_cutoff: must be an integer in 1..{n_layers} (or null), got {cutoff!r}")


@register_family("stylegan", check=check_stylegan, figures=True)
def build_stylegan(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build the style-based generator and the ProGAN discriminator at full resolution."""
    c, res = data.shape[0], data.shape[1]
    d = ProDiscriminator(c, res, int(cfg.get("d_ch", 32)), int(cfg.get("max_ch", 256)), DOptions.from_cfg(cfg, mbstd=4),
                         progressive=False)
    return style_generator(StyleGenerator, cfg, data), d


def style_generator(cls: type[StyleGenerator], cfg: dict[str, Any], data: DataSpec) -> StyleGenerator:
    """A style-based generator of class `cls` from preset keys w_dim, mapping_layers, g_ch, max_ch, truncation(_cutoff)."""
    return cls(int(cfg["z_dim"]), data.shape[0], data.shape[1], int(cfg.get("w_dim", 128)), int(cfg.get("mapping_layers", 8)),
               int(cfg.get("g_ch", 32)), int(cfg.get("max_ch", 256)), float(cfg.get("truncation", 1.0)),
               cfg.get("truncation_cutoff"))

