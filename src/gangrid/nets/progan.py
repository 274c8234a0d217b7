"""ProGAN (Karras et al. 2018): progressive growing from 4x4 with fade-in,
pixel norm, equalized learning rate and minibatch stddev, for square powers of two >= 8.

Both nets hold every resolution's layers from the start and a `progress` buffer
(stage, alpha): stage s trains at resolution 4 * 2**s. During a transition the generator
outputs (1 - alpha) * up2(to_rgb_{s-1}(h_{s-1})) + alpha * to_rgb_s(h_s) and the
discriminator mixes alpha * block_s(from_rgb_s(x)) + (1 - alpha) * from_rgb_{s-1}(avgpool(x)).
To keep the pipeline's fixed data shape, G's output is nearest-upsampled to the full
resolution and D average-pools its input down to the stage's resolution (avgpool of a
nearest upsampling is the identity, so fakes are judged at their native size). The
`progressive` trick (implied by the presets) sets (stage, alpha) from the trainer's step and
`train.steps`; without it the nets sit at the last stage with alpha = 1. The buffer is
checkpointed and copied by EMA, so resumed runs and samples use the right stage.

G: pixelnorm(z) -> dense 4x4 -> conv3 -> [up x2, conv3, conv3] per stage; LeakyReLU 0.2 and
pixel norm after every conv; to_rgb 1x1 per stage; tanh at the end (data in [-1, 1]).
D: from_rgb 1x1 per stage; [conv3, conv3, avgpool] per stage; minibatch stddev (group 4),
conv3, conv4 (valid), dense -> logit. Every layer uses the equalized learning rate.

Preset keys: g_ch / d_ch (channels at the full resolution, 32), max_ch (256: channels double
per halving of the resolution up to this), plus pack / mbstd (default 4) / mbdisc / dropout for D.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gangrid.nets import DataSpec, DOut, register_family, require
from gangrid.nets.blocks import DOptions, EqualizedConv2d, EqualizedLinear, PixelNorm, check_image, preset_name
from gangrid.nets.common import MinibatchStdDev


def resolutions(res: int) -> list[int]:
    """4, 8, ..., res."""
    return [4 * 2**i for i in range(int(math.log2(res // 4)) + 1)]


def widths(res: int, ch: int, max_ch: int) -> list[int]:
    """Channels per resolution 4..res: `ch` at full resolution, doubling per halving, capped at max_ch."""
    return [min(max_ch, ch * (res // r)) for r in resolutions(res)]


class Progressive(nn.Module):
    """Holds the (stage, alpha) buffer that the `progressive` trick sets."""

    def __init__(self, n_stages: int) -> None:
        super().__init__()
        self.n_stages = n_stages
        self.register_buffer("progress", torch.tensor([float(n_stages - 1), 1.0], dtype=torch.float64))

    def set_progress(self, stage: int, alpha: float) -> None:
        """Train at resolution 4 * 2**stage, fading the new layers in with weight `alpha`."""
        if not 0 <= stage < self.n_stages:
            raise ValueError(f"stage {stage} outside 0..{self.n_stages - 1}")
        self.progress.copy_(torch.tensor([float(stage), float(alpha)], dtype=torch.float64))

    def current(self) -> tuple[int, float]:
        """(stage, alpha) as Python numbers (reads the buffer: one host sync per forward)."""
        stage, alpha = self.progress.tolist()
        return int(stage), float(alpha)


class ProGenerator(Progressive):
    """Progressive generator; see the module docstring."""

    def __init__(self, z_dim: int, channels: int, res: int, ch: int, max_ch: int) -> None:
        w = widths(res, ch, max_ch)
        super().__init__(len(w))
        self.res = res
        self.pn = PixelNorm()
        self.dense = EqualizedLinear(z_dim, w[0] * 16, gain=math.sqrt(2) / 4)  # the official code's gain for the 4x4 dense layer
        self.initial = EqualizedConv2d(w[0], w[0], 3, 1)
        self.blocks = nn.ModuleList([nn.Identity()])
        for c_in, c_out in zip(w[:-1], w[1:]):
            self.blocks.append(nn.ModuleList([EqualizedConv2d(c_in, c_out, 3, 1), EqualizedConv2d(c_out, c_out, 3, 1)]))
        self.to_rgb = nn.ModuleList([EqualizedConv2d(c, channels, 1, gain=1.0) for c in w])

    def act(self, t: torch.Tensor) -> torch.Tensor:
        """LeakyReLU 0.2 then pixel norm (after every conv of G)."""
        return self.pn(F.leaky_relu(t, 0.2))

    def features(self, z: torch.Tensor, stage: int) -> list[torch.Tensor]:
        """Feature maps h_0 .. h_stage (4x4 up to the stage's resolution)."""
        act = self.act
        h = act(self.dense(self.pn(z)).view(z.shape[0], -1, 4, 4))
        hs = [act(self.initial(h))]
        for i in range(1, stage + 1):
            conv1, conv2 = self.blocks[i]
            h = F.interpolate(hs[-1], scale_factor=2, mode="nearest")
            hs.append(act(conv2(act(conv1(h)))))
        return hs

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        stage, alpha = self.current()
        hs = self.features(z, stage)
        out = self.to_rgb[stage](hs[stage])
        if stage > 0 and alpha < 1.0:
            old = F.interpolate(self.to_rgb[stage - 1](hs[stage - 1]), scale_factor=2, mode="nearest")
            out = torch.lerp(old, out, alpha)
        scale = self.res // out.shape[-1]
        if scale > 1:
            out = F.interpolate(out, scale_factor=scale, mode="nearest")
        return torch.tanh(out)


class ProDiscriminator(Progressive):
    """Progressive discriminator; features are the output of the 4x4 conv (B, channels)."""

    def __init__(self, channels: int, res: int, ch: int, max_ch: int, opts: DOptions, progressive: bool = True) -> None:
        w = widths(res, ch, max_ch)
        super().__init__(len(w))
        self.res = res
        c_img = channels * opts.pack
        # a fixed-resolution D (StyleGAN) needs only the last stage's from_rgb
        self.from_rgb = nn.ModuleList([EqualizedConv2d(c_img, c, 1) if (progressive or i == len(w) - 1) else nn.Identity()
                                       for i, c in enumerate(w)])
        self.blocks = nn.ModuleList([nn.Identity()])
        for c_out, c_in in zip(w[:-1], w[1:]):  # block i maps w[i] at res_i to w[i-1] at res_{i-1}
            self.blocks.append(nn.ModuleList([EqualizedConv2d(c_in, c_in, 3, 1), EqualizedConv2d(c_in, c_out, 3, 1)]))
        self.dropout = nn.Dropout(opts.dropout) if opts.dropout > 0 else nn.Identity()
        self.mbstd = MinibatchStdDev(opts.mbstd) if opts.mbstd else None
        self.final_conv = EqualizedConv2d(w[0] + (1 if opts.mbstd else 0), w[0], 3, 1)
        self.final_dense = EqualizedConv2d(w[0], w[0], 4, 0)
        self.mbdisc, extra = opts.mbdisc_layer(w[0])
        self.head = EqualizedLinear(w[0] + extra, 1, gain=1.0)

    def block(self, i: int, h: torch.Tensor) -> torch.Tensor:
        """Block i: two conv3 + LeakyReLU, then 2x2 average pooling (res_i -> res_{i-1})."""
        conv1, conv2 = self.blocks[i]
        h = F.leaky_relu(conv2(F.leaky_relu(conv1(h), 0.2)), 0.2)
        return self.dropout(F.avg_pool2d(h, 2))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        stage, alpha = self.current()
        size = 4 * 2**stage
        if x.shape[-1] > size:
            x = F.avg_pool2d(x, x.shape[-1] // size)
        h = F.leaky_relu(self.from_rgb[stage](x), 0.2)
        if stage > 0:
            h = self.block(stage, h)
            if alpha < 1.0:
                old = F.leaky_relu(self.from_rgb[stage - 1](F.avg_pool2d(x, 2)), 0.2)
                h = torch.lerp(old, h, alpha)
        for i in range(stage - 1, 0, -1):
            h = self.block(i, h)
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = F.leaky_relu(self.final_conv(h), 0.2)
        h = F.leaky_relu(self.final_dense(h), 0.2).flatten(1)
        if self.mbdisc is not None:
            h = self.mbdisc(h)
        return DOut(self.head(h).squeeze(1), h)


def check_progan(cfg: dict[str, Any], data: DataSpec, family: str = "progan") -> None:
    """Square power-of-two images >= 8 px; positive widths."""
    _, res = check_image(cfg, data, family)
    name = preset_name(cfg, family)
    require(res >= 8 and res & (res - 1) == 0, f"archs.{name}: resolution {res}x{res} not supported by family '{family}' (needs a square power of two >= 8)")
    require(int(cfg.get("max_ch", 256)) >= 1, f"archs.{name}.max_ch: must be >= 1")


@register_family("progan", check=check_progan)
def build_progan(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build the progressive generator and discriminator (at the last stage until the trick sets one)."""
    c, res = data.shape[0], data.shape[1]
    max_ch = int(cfg.get("max_ch", 256))
    g = ProGenerator(int(cfg["z_dim"]), c, res, int(cfg.get("g_ch", 32)), max_ch)
    d = ProDiscriminator(c, res, int(cfg.get("d_ch", 32)), max_ch, DOptions.from_cfg(cfg, mbstd=4))
    return g, d
