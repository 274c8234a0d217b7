"""Building blocks shared by architecture families: init, normalisation, activations."""

from __future__ import annotations

import torch
from torch import nn

from gangrid.errors import ConfigError

NORMS = ("batch", "instance", "layer", "group", "none")


def norm2d(kind: str, channels: int) -> nn.Module:
    """A 2-D normalisation layer by name: batch, instance, layer, group or none.

    PyTorch's BatchNorm momentum (0.1) is the weight of the new batch statistic;
    Keras/TF texts write 0.9 for the same thing (the fraction kept).
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # LayerNorm over (C, H, W)
    if kind == "group":
        return nn.GroupNorm(min(32, channels // 4) or 1, channels)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"unknown norm '{kind}' (known: {', '.join(NORMS)})")


def norm1d(kind: str, features: int) -> nn.Module:
    """A 1-D normalisation layer for fully connected nets (batch, layer or none)."""
    if kind == "batch":
        return nn.BatchNorm1d(features)
    if kind == "layer":
        return nn.LayerNorm(features)
    if kind in ("none", "instance", "group"):
        return nn.Identity()
    raise ConfigError(f"unknown norm '{kind}' (known: {', '.join(NORMS)})")


def dcgan_init(module: nn.Module, std: float = 0.02) -> None:
    """DCGAN initialisation: conv/linear weights ~ N(0, std), norm scales ~ N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.GroupNorm, nn.InstanceNorm2d, nn.LayerNorm)):
            if getattr(m, "weight", None) is not None:
                nn.init.normal_(m.weight, 1.0, std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def output_activation(kind: str) -> nn.Module:
    """tanh for images in [-1, 1], identity for unbounded points."""
    return nn.Tanh() if kind == "image" else nn.Identity()


class MinibatchStdDev(nn.Module):
    """Appends the mean over features of the per-group standard deviation as one extra channel
    (ProGAN; group size 4, eps 1e-8). Works on (B, C, H, W) and (B, F) inputs."""

    def __init__(self, group_size: int = 4, eps: float = 1e-8) -> None:
        super().__init__()
        self.group_size = group_size
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        g = min(self.group_size, b)
        if b % g:
            g = 1 if b < 2 else next(s for s in range(g, 0, -1) if b % s == 0)
        if g < 2:
            stat = torch.zeros((b, 1) + x.shape[2:], dtype=x.dtype, device=x.device)
            return torch.cat([x, stat], dim=1)
        y = x.reshape(g, -1, *x.shape[1:])
        std = (y.var(dim=0, unbiased=False) + self.eps).sqrt()
        stat = std.mean(dim=tuple(range(1, std.dim())), keepdim=True)  # (B/g, 1, ...)
        stat = stat.repeat(g, *([1] * (stat.dim() - 1)))
        if x.dim() == 4:
            stat = stat.expand(b, 1, x.shape[2], x.shape[3])
        else:
            stat = stat.reshape(b, 1)
        return torch.cat([x, stat], dim=1)


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016: appends `kernels` features o_b(x_i) = sum_{j != i} exp(-||M_i,b - M_j,b||_1),
    M = flatten(x) T reshaped to (B, kernels, dim), T ~ N(0, 0.05^2) learned (as in the paper's code).
    On (B, C, H, W) inputs the features are appended as `kernels` constant channels."""

    def __init__(self, in_features: int, kernels: int = 50, dim: int = 5) -> None:
        super().__init__()
        self.kernels, self.dim = kernels, dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * dim) * 0.05)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = (x.flatten(1) @ self.T).view(x.shape[0], self.kernels, self.dim).transpose(0, 1)  # (kernels, B, dim)
        l1 = torch.cdist(m, m, p=1.0)  # (kernels, B, B) L1 distances
        o = torch.exp(-l1).sum(2).t() - 1.0  # (B, kernels), minus the sample itself: exp(0) = 1
        if x.dim() == 4:
            o = o[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return torch.cat([x, o], dim=1)
