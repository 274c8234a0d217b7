"""SAGAN's self-attention block (Zhang et al. 2019), usable in the DCGAN, ResNet and conv-stack nets
through the preset key `attention: <feature-map size>`."""

from __future__ import annotations

import torch
from torch import nn


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019): o = softmax(f(x)^T g(x)) h(x), out = x + gamma * v(o).

    f, g, h are 1x1 convs to C/8 channels, v maps back to C; gamma starts at 0, so the
    block is the identity at initialisation and the net learns how much attention to use.
    """

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        inner = max(channels // reduction, 1)
        self.f = nn.Conv2d(channels, inner, 1, bias=False)
        self.g = nn.Conv2d(channels, inner, 1, bias=False)
        self.h = nn.Conv2d(channels, inner, 1, bias=False)
        self.v = nn.Conv2d(inner, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, hh, ww = x.shape
        q = self.f(x).flatten(2)  # (B, C', N)
        k = self.g(x).flatten(2)
        v = self.h(x).flatten(2)
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (B, N, N): row i attends over positions j
        o = (v @ attn.transpose(1, 2)).view(b, -1, hh, ww)
        return x + self.gamma * self.v(o)
