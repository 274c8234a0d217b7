"""BiGAN (Donahue et al. 2017) / ALI (Dumoulin et al. 2017), family `bigan` of the `encoder` study kind.

Beside the generator G: z -> x an encoder E: x -> z is trained, and the discriminator sees joint
pairs: (x, E(x)) for data against (G(z), z) for samples (gangrid.kinds.encoder.trainer.BiganTrainer).
At the optimum E inverts G, so E's codes are features of the data (the papers' representation
learning: a linear classifier on them) and G(E(x)) reconstructs x. G side: `EncoderGenerator`
(the encoder, G as the decoder, the prior: BiGAN's U[-1, 1] or ALI's Gaussian); D side:
`JointDiscriminator`.

Preset keys: as `aae` (body, prior, g_ch / d_ch, hidden / layers), d_hidden (the z and joint MLPs),
dropout (D, 0.2 in BiGAN).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gangrid.metrics.encoders import ENCODER_MEASURES
from gangrid.nets import DataSpec, DOut, register_family
from gangrid.nets.aae import encoder_metrics
from gangrid.nets.encoders import EncoderGenerator, check_encoder_family, image_decoder, image_encoder, make_prior


class JointDiscriminator(nn.Module):
    """D(x, z): an image trunk (x -> hidden features) and a latent trunk (z -> hidden), each LeakyReLU 0.2 and
    dropout, then a joint MLP on their concatenation -> logit."""

    def __init__(self, cfg: dict[str, Any], data: DataSpec, z_dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.x_trunk = nn.Sequential(image_encoder(cfg, data, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout))
        self.z_trunk = nn.Sequential(nn.Linear(z_dim, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout))
        self.joint_net = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout))
        self.head = nn.Linear(hidden, 1)

    def joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The joint input of the pair: [image features of x, latent features of z], shape (B, 2 * hidden)."""
        return torch.cat([self.x_trunk(x), self.z_trunk(z.flatten(1))], dim=1)

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> DOut:
        assert z is not None, "a joint discriminator scores (x, z) pairs"
        h = self.joint_net(self.joint(x, z))
        return DOut(self.head(h).flatten(), h)


@register_family("bigan", check=lambda cfg, data: check_encoder_family(cfg, data, "bigan"), study_kind="encoder",
                 run_metrics=encoder_metrics, run_measures=ENCODER_MEASURES)
def build_bigan(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """G and E (with the prior) and the joint discriminator."""
    z_dim = int(cfg["z_dim"])
    g = EncoderGenerator(image_encoder(cfg, data, z_dim), image_decoder(cfg, data, z_dim), make_prior(cfg, z_dim))
    d = JointDiscriminator(cfg, data, z_dim, int(cfg.get("d_hidden", 256)), float(cfg.get("dropout", 0.2)))
    return g, d
