"""Projection discriminator cGAN (Miyato & Koyama 2018) on the SNGAN ResNet blocks.

G: the ResNet generator with class-conditional batch norm (per-class gains and biases).
D: the ResNet discriminator with logit = psi(h) + <embed(y), h> on the pooled features h.
Preset keys: those of the `resnet` family; the dataset must be labelled. The papers pair it
with spectral norm and the hinge loss (imply them in the preset or choose them on the grid).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from gangrid.nets import DataSpec, register_family
from gangrid.nets.resnet import build_resnet_pair, check_resnet


def check_projection(cfg: dict[str, Any], data: DataSpec) -> None:
    """The ResNet checks, plus: labelled data, no packing."""
    check_resnet(cfg, data, "projection", conditional=True)


@register_family("projection", check=check_projection)
def build_projection(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build a conditional-BN ResNet generator and a projection discriminator."""
    return build_resnet_pair(cfg, data, n_classes=data.n_classes)
