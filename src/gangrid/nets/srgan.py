"""SRGAN (Ledig et al. 2017), family `srgan` of the `superres` study kind: SRResNet generator, VGG-style discriminator.

G (SRResNet): LR image -> conv9 (`g_ch`) PReLU -> `blocks` residual blocks [conv3 BN PReLU conv3 BN, + skip]
-> conv3 BN, + the long skip -> log2(factor) upsampling blocks [conv3 to 4 x g_ch, PixelShuffle(2), PReLU]
-> conv9 to the image channels, tanh (HR images in [-1, 1]). Each PixelShuffle(2) turns (B, 4C, H, W)
into (B, C, 2H, 2W): sub-pixel convolution (Shi et al. 2016).
D (VGG-style): conv3 LReLU, then stride-2 conv3 / conv3 doubling the width, with BN and LeakyReLU 0.2:
d_ch, d_ch s2, 2 d_ch, 2 d_ch s2, 4 d_ch, ... (the paper's 64, 64 s2, ..., 512, 512 s2 with d_ch 64), down
to 1 / 16 of the HR side (at least 1 px); dense `d_hidden` LReLU, dense logit.

Training recipe keys (read by the superres trainer, gangrid.kinds.superres.trainer): content
(classifier | vgg19 | pixel), vgg_weights, content_weight, adv_weight, pixel_weight, pretrain.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from gangrid.nets import DataSpec, DOut, register_family, require
from gangrid.nets.blocks import preset_name

CONTENT = ("classifier", "vgg19", "pixel")


class ResidualBlock(nn.Module):
    """conv3 BN PReLU conv3 BN, plus the input."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1), nn.BatchNorm2d(ch), nn.PReLU(ch),
                                  nn.Conv2d(ch, ch, 3, 1, 1), nn.BatchNorm2d(ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def upsample_block(ch: int) -> nn.Sequential:
    """x2 sub-pixel upsampling: conv3 to 4 ch channels, PixelShuffle(2) back to ch at twice the size, PReLU."""
    return nn.Sequential(nn.Conv2d(ch, 4 * ch, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(ch))


class SRResNet(nn.Module):
    """The SRGAN generator: LR (B, C, h, w) -> SR (B, C, factor h, factor w) in [-1, 1]."""

    def __init__(self, channels: int, ch: int, blocks: int, factor: int) -> None:
        super().__init__()
        self.factor = factor
        self.head = nn.Sequential(nn.Conv2d(channels, ch, 9, 1, 4), nn.PReLU(ch))
        self.blocks = nn.Sequential(*[ResidualBlock(ch) for _ in range(blocks)])
        self.trunk_end = nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1), nn.BatchNorm2d(ch))
        self.upsample = nn.Sequential(*[upsample_block(ch) for _ in range(int(math.log2(factor)))])
        self.tail = nn.Conv2d(ch, channels, 9, 1, 4)

    def forward(self, lr: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.head(lr)
        h = h + self.trunk_end(self.blocks(h))
        return torch.tanh(self.tail(self.upsample(h)))


class VGGDiscriminator(nn.Module):
    """SRGAN's discriminator on HR images (module docstring); features: the dense hidden layer."""

    def __init__(self, channels: int, res: int, ch: int, hidden: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, ch, 3, 1, 1), nn.LeakyReLU(0.2, True)]
        c, size = ch, res
        while True:  # 64, 64 s2, 128, 128 s2, 256, 256 s2, 512, 512 s2 (d_ch 64, 16x smaller)
            layers += [nn.Conv2d(c, c, 3, 2, 1), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True)]
            size = (size + 1) // 2
            if size <= max(1, res // 16):
                break
            layers += [nn.Conv2d(c, 2 * c, 3, 1, 1), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2, True)]
            c *= 2
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.dense = nn.Sequential(nn.Linear(c * size * size, hidden), nn.LeakyReLU(0.2, True))
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        f = self.dense(self.body(x))
        return DOut(self.head(f).flatten(), f)


def check_srgan(cfg: dict[str, Any], data: DataSpec) -> None:
    """Square images; a factor of 2 or 4; positive widths; a known content loss in [0, 1) pretraining."""
    name = preset_name(cfg, "srgan")
    require(data.kind in ("image", "superres"), f"archs.{name}: SRGAN needs a super-resolution set, not {data.kind} data")
    _, h, w = data.shape
    require(h == w, f"archs.{name}: SRGAN needs square images, got {h}x{w}")
    require(int(cfg.get("factor", 4)) in (2, 4), f"archs.{name}: the dataset's factor must be 2 or 4")
    for key in ("g_ch", "d_ch", "d_hidden"):
        require(int(cfg.get(key, 1)) >= 1, f"archs.{name}.{key}: must be >= 1, got {cfg.get(key)}")
    require(int(cfg.get("blocks", 1)) >= 0, f"archs.{name}.blocks: must be >= 0, got {cfg.get('blocks')}")
    require(cfg.get("content", "classifier") in CONTENT,
            f"archs.{name}.content: unknown content loss '{cfg.get('content')}' (known: {', '.join(CONTENT)})")
    require(0.0 <= float(cfg.get("pretrain", 0.0)) < 1.0, f"archs.{name}.pretrain: must lie in [0, 1), got {cfg.get('pretrain')}")
    for key in ("content_weight", "adv_weight", "pixel_weight"):
        require(float(cfg.get(key, 0.0)) >= 0, f"archs.{name}.{key}: must be >= 0, got {cfg.get(key)}")


@register_family("srgan", check=check_srgan, study_kind="superres")
def build_srgan(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """SRResNet for the dataset's factor (`factor`, set by the superres kind) and the VGG-style D at the HR size."""
    c, res = data.shape[0], data.shape[1]
    g = SRResNet(c, int(cfg.get("g_ch", 64)), int(cfg.get("blocks", 16)), int(cfg.get("factor", 4)))
    d = VGGDiscriminator(c, res, int(cfg.get("d_ch", 64)), int(cfg.get("d_hidden", 1024)))
    return g, d
