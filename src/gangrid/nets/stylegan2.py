"""StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN") for square powers of two >= 8.

What changes from StyleGAN-lite (gangrid.nets.stylegan), whose mapping network, w average,
truncation, style mixing and style-mixing figure it keeps:

* Weight demodulation instead of AdaIN. A style s = A(w) (one scale per input channel,
  starting at 1) scales the conv weights, w'_ijk = s_i w_ijk, and demodulation rescales each
  output channel j to unit L2 norm, w''_ijk = w'_ijk / sqrt(sum_{i,k} w'_ijk^2 + eps), so for
  inputs of unit variance the outputs have unit variance again (the normalisation AdaIN did on
  the activations, now done on the weights: no more droplet artefacts). It is computed in the
  paper's non-fused form (scale the input, one shared conv, scale the output), equal to a
  per-sample grouped conv and several times faster on a CPU.
* Per-layer noise and bias added after the modulated conv, LeakyReLU 0.2 with gain sqrt(2).
* Skip generator: a modulated 1x1 toRGB (no demodulation) at every resolution, the RGB images
  summed after upsampling (bilinear here; the paper's FIR filter is a departure).
* Residual discriminator: fromRGB at full resolution, then per resolution two 3x3 convs and a
  2x average-pool with a 1x1 skip path, the sum divided by sqrt(2); minibatch stddev, 3x3 conv,
  two dense layers at 4x4. Equalized learning rate everywhere.
* Path-length regularisation (trick `path_length`) and lazy R1 (`r1` with `every: 16`) are
  the paper's regularisers, implied by the presets.

Preset keys: w_dim, mapping_layers, g_ch / d_ch (channels at full resolution), max_ch,
truncation, truncation_cutoff, plus mbstd (4) for D.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gangrid.nets import DataSpec, DOut, register_family
from gangrid.nets.blocks import EqualizedConv2d, EqualizedLinear
from gangrid.nets.common import MinibatchStdDev
from gangrid.nets.progan import resolutions, widths
from gangrid.nets.stylegan import NoiseInjection, StyleGenerator, check_stylegan, style_generator

DEMOD_EPS = 1e-8
ACT_GAIN = math.sqrt(2.0)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """LeakyReLU 0.2 with StyleGAN2's gain sqrt(2)."""
    return F.leaky_relu(x, 0.2) * ACT_GAIN


def modulate(weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True) -> torch.Tensor:
    """Per-sample conv weights (B, O, I, k, k): weight (O, I, k, k) scaled by styles (B, I) along the
    input channels, then (with `demodulate`) each output channel divided by its L2 norm (+ eps)."""
    w = weight[None] * styles[:, None, :, None, None]
    if demodulate:
        w = w * torch.rsqrt(w.pow(2).sum(dim=(2, 3, 4), keepdim=True) + DEMOD_EPS)
    return w


class ModulatedConv2d(nn.Module):
    """A k x k conv whose weights are modulated by a style A(w) per sample (and demodulated), optionally after x2 upsampling."""

    def __init__(self, c_in: int, c_out: int, kernel: int, w_dim: int, demodulate: bool = True, upsample: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.scale = 1.0 / math.sqrt(c_in * kernel * kernel)  # equalized learning rate
        self.affine = EqualizedLinear(w_dim, c_in, gain=1.0, bias_init=1.0)
        self.demodulate, self.upsample, self.padding = demodulate, upsample, kernel // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """conv(x, modulate(weight, s)) computed as the paper's non-fused form: the input scaled by s, one shared
        conv, the output scaled by the demodulation coefficients 1 / sqrt(sum_i s_i^2 sum_k w_jik^2 + eps)
        (the same numbers as a grouped conv with per-sample weights, at the cost of one plain conv)."""
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        styles = self.affine(w).to(x.dtype)
        weight = self.weight * self.scale
        out = F.conv2d(x * styles[:, :, None, None], weight, padding=self.padding)
        if self.demodulate:
            norms = styles.pow(2) @ weight.pow(2).sum(dim=(2, 3)).t()  # (B, O): sum_i s_i^2 sum_k w_jik^2
            out = out * torch.rsqrt(norms + DEMOD_EPS)[:, :, None, None]
        return out


class StyleConv(nn.Module):
    """Modulated 3x3 conv, per-pixel noise, bias, LeakyReLU (gain sqrt 2)."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, size: int, upsample: bool) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(c_in, c_out, 3, w_dim, upsample=upsample)
        self.noise = NoiseInjection(c_out, size)
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return lrelu(self.noise(self.conv(x, w)) + self.bias.view(1, -1, 1, 1))


class ToRGB(nn.Module):
    """Modulated 1x1 conv without demodulation, plus bias: a resolution's contribution to the image."""

    def __init__(self, c_in: int, channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(c_in, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias.view(1, -1, 1, 1)


class Style2Generator(StyleGenerator):
    """StyleGAN's mapping, mixing and truncation with StyleGAN2's skip synthesis network (module docstring)."""

    def build_synthesis(self, channels: int, res: int, w_dim: int, w: list[int]) -> None:
        """const 4x4, one conv at 4x4 then (upsampling conv, conv) per resolution; a toRGB per resolution."""
        self.const = nn.Parameter(torch.randn(1, w[0], 4, 4))
        layers = [StyleConv(w[0], w[0], w_dim, 4, upsample=False)]
        rgbs = [ToRGB(w[0], channels, w_dim)]
        for size, c_in, c_out in zip(resolutions(res)[1:], w[:-1], w[1:]):
            layers += [StyleConv(c_in, c_out, w_dim, size, upsample=True), StyleConv(c_out, c_out, w_dim, size, upsample=False)]
            rgbs.append(ToRGB(c_out, channels, w_dim))
        self.layers = nn.ModuleList(layers)
        self.to_rgbs = nn.ModuleList(rgbs)

    def synthesize(self, ws: torch.Tensor) -> torch.Tensor:
        """Images from per-layer styles ws (B, n_layers, w_dim); a toRGB takes the style of the conv before it."""
        x = self.layers[0](self.const.expand(ws.shape[0], -1, -1, -1), ws[:, 0])
        rgb = self.to_rgbs[0](x, ws[:, 0])
        for r in range(1, len(self.to_rgbs)):
            i = 2 * r - 1
            x = self.layers[i](x, ws[:, i])
            x = self.layers[i + 1](x, ws[:, i + 1])
            rgb = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False) + self.to_rgbs[r](x, ws[:, i + 1])
        return rgb


class ResidualBlock(nn.Module):
    """conv3, conv3 to the next width, 2x average pool; skip: pool + 1x1 conv; (main + skip) / sqrt(2)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = EqualizedConv2d(c_in, c_in, 3, 1, gain=1.0)
        self.conv2 = EqualizedConv2d(c_in, c_out, 3, 1, gain=1.0)
        self.skip = EqualizedConv2d(c_in, c_out, 1, gain=1.0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = F.avg_pool2d(lrelu(self.conv2(lrelu(self.conv1(x)))), 2)
        return (main + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2.0)


class ResidualDiscriminator(nn.Module):
    """StyleGAN2's residual D (module docstring); features: the first dense layer's output."""

    def __init__(self, channels: int, res: int, ch: int, max_ch: int, mbstd: int = 4) -> None:
        super().__init__()
        w = widths(res, ch, max_ch)[::-1]  # full resolution first
        self.from_rgb = EqualizedConv2d(channels, w[0], 1, gain=1.0)
        self.blocks = nn.Sequential(*[ResidualBlock(c_in, c_out) for c_in, c_out in zip(w[:-1], w[1:])])
        self.mbstd = MinibatchStdDev(mbstd) if mbstd else None
        self.conv = EqualizedConv2d(w[-1] + (1 if mbstd else 0), w[-1], 3, 1, gain=1.0)
        self.fc = EqualizedLinear(w[-1] * 16, w[-1], gain=1.0)
        self.out = EqualizedLinear(w[-1], 1, gain=1.0)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        h = self.blocks(lrelu(self.from_rgb(x)))
        if self.mbstd is not None:
            h = self.mbstd(h)
        f = lrelu(self.fc(lrelu(self.conv(h)).flatten(1)))
        return DOut(self.out(f).flatten(), f)


@register_family("stylegan2", check=check_stylegan, figures=True)
def build_stylegan2(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build the StyleGAN2 skip generator and residual discriminator."""
    d = ResidualDiscriminator(data.shape[0], data.shape[1], int(cfg.get("d_ch", 32)), int(cfg.get("max_ch", 256)),
                              int(cfg.get("mbstd", 4)))
    return style_generator(Style2Generator, cfg, data), d
