"""Adversarial auto-encoder (Makhzani et al. 2016), family `aae` of the `encoder` study kind.

An encoder q(z|x) (deterministic, the paper's main variant) and a decoder p(x|z) are trained to
reconstruct, while a discriminator on the latent code tells samples of the prior p(z) from codes
q(z|x) of the data and the encoder, as its generator, learns to fool it: the aggregated posterior
is matched to the prior (gangrid.kinds.encoder.trainer.AaeTrainer). Decoding prior samples then
generates images. G side: `EncoderGenerator` (encoder, decoder, prior); D side: an MLP on z
(`d_hidden` x 2 LeakyReLU 0.2 units).

Preset keys: body (conv | mlp), z_dim via train, prior (gaussian | mixture | uniform; components,
prior_radius, prior_std), g_ch / d_ch / g_norm / d_norm (conv), hidden / layers (mlp), d_hidden.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gangrid.metrics.encoders import ENCODER_MEASURES
from gangrid.nets import DataSpec, DOut, register_family
from gangrid.nets.encoders import EncoderGenerator, check_encoder_family, image_decoder, image_encoder, make_prior


class LatentDiscriminator(nn.Module):
    """z -> [Linear, LeakyReLU 0.2] x 2 -> logit: prior samples (real) vs codes of the data (fake)."""

    def __init__(self, z_dim: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(z_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2))
        self.head = nn.Linear(hidden, 1)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        h = self.body(z)
        return DOut(self.head(h).flatten(), h)


def encoder_metrics(trainer: Any) -> dict[str, float]:
    """Reconstruction error on the test split and linear-probe accuracy of the codes (gangrid.metrics.encoders)."""
    from gangrid.metrics.encoders import run_encoder_metrics

    return run_encoder_metrics(trainer.sampling_generator(), trainer.config["run"]["dataset"], trainer.device)


@register_family("aae", check=lambda cfg, data: check_encoder_family(cfg, data, "aae"), study_kind="encoder",
                 run_metrics=encoder_metrics, run_measures=ENCODER_MEASURES)
def build_aae(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """The encoder / decoder / prior and the latent discriminator."""
    z_dim = int(cfg["z_dim"])
    g = EncoderGenerator(image_encoder(cfg, data, z_dim), image_decoder(cfg, data, z_dim), make_prior(cfg, z_dim))
    return g, LatentDiscriminator(z_dim, int(cfg.get("d_hidden", 256)))
