"""AC-GAN (Odena et al. 2017): a class-conditional G and a D with an auxiliary classifier.

G(z, y) = DCGAN-style G on [z, embed(y)]. D is unconditional: a DCGAN-style encoder with two
heads on the same features, the real/fake logit and K class logits (`class_logits`). The
class loss is the `acgan_aux` trick, which the presets imply: D minimises the cross-entropy of
the class of real and generated images, G that of generated images. The paper uses dropout
in D (set `dropout`).

Preset keys: embed_dim (K), g_ch / d_ch (64), g_norm / d_norm, upsample, attention, dropout, mbstd, mbdisc.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gangrid.nets import DataSpec, DOut, register_family
from gangrid.nets.blocks import check_conv_resolution, check_image, conv_encoder, conv_generator
from gangrid.nets.cgan import LabelConcatGenerator


class AuxClassifierDiscriminator(nn.Module):
    """Conv encoder with a real/fake head and an auxiliary K-way class head; ignores y."""

    def __init__(self, cfg: dict[str, Any], data: DataSpec) -> None:
        super().__init__()
        self.encoder = conv_encoder(cfg, data)
        self.head = nn.Linear(self.encoder.out_dim, 1)
        self.classifier = nn.Linear(self.encoder.out_dim, data.n_classes)
        for layer in (self.head, self.classifier):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            nn.init.zeros_(layer.bias)

    def class_logits(self, features: torch.Tensor) -> torch.Tensor:
        """K class logits from the features of `forward`."""
        return self.classifier(features)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        h = self.encoder(x)
        return DOut(self.head(h).squeeze(1), h)


def check_acgan(cfg: dict[str, Any], data: DataSpec) -> None:
    """Labelled square images at a conv-stack resolution (16, 28, 32, 64, ...)."""
    _, res = check_image(cfg, data, "acgan", conditional=True)
    check_conv_resolution(cfg, res, "acgan")


@register_family("acgan", check=check_acgan)
def build_acgan(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build the conditional generator and the auxiliary-classifier discriminator."""
    embed_dim = int(cfg.get("embed_dim", data.n_classes))
    g = LabelConcatGenerator(conv_generator(cfg, data, int(cfg["z_dim"]) + embed_dim), data.n_classes, embed_dim, data.shape)
    return g, AuxClassifierDiscriminator(cfg, data)
