"""What the encoder families (AAE, BiGAN / ALI: study kind `encoder`) share: latent priors, image encoders
and decoders, and the generator side that holds both.

Priors p(z) (preset key `prior`):
  gaussian  N(0, I) (AAE's default, ALI)
  uniform   U[-1, 1]^d (BiGAN)
  mixture   an equal-weight mixture of `components` Gaussians of std `prior_std` whose means lie on a circle
            of radius `prior_radius` in the first two latent dimensions (the AAE paper's mixture of 10
            2-D Gaussians), 0 in the others
Bodies (preset key `body`): `conv` (DCGAN-style stacks: g_ch / g_norm for the decoder, d_ch / d_norm for
the encoder, gangrid.nets.blocks) or `mlp` (`hidden` x `layers` ReLU units, the papers' MNIST nets).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from gangrid.nets import DataSpec, require
from gangrid.nets.blocks import check_conv_resolution, check_image, conv_encoder, conv_generator, preset_name
from gangrid.nets.common import dcgan_init
from gangrid.nets.mlp import MLPGenerator

PRIORS = ("gaussian", "uniform", "mixture")
BODIES = ("conv", "mlp")


class Prior(nn.Module):
    """p(z): `sample(n, generator)` draws n latents on the CPU when a torch.Generator is given."""

    def __init__(self, kind: str, z_dim: int, components: int = 10, radius: float = 4.0, std: float = 0.5) -> None:
        super().__init__()
        self.kind, self.z_dim, self.std = kind, z_dim, float(std)
        angles = 2 * math.pi * torch.arange(components, dtype=torch.float32) / components
        means = torch.zeros(components, z_dim)
        means[:, 0], means[:, 1] = radius * torch.cos(angles), radius * torch.sin(angles)
        self.register_buffer("means", means)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n samples of the prior (on the CPU with `generator`, else on the device of the means)."""
        device = "cpu" if generator is not None else self.means.device
        if self.kind == "uniform":
            return torch.rand(n, self.z_dim, generator=generator, device=device) * 2 - 1
        z = torch.randn(n, self.z_dim, generator=generator, device=device)
        if self.kind == "gaussian":
            return z
        pick = torch.randint(len(self.means), (n,), generator=generator, device=device)
        return self.means.to(device)[pick] + self.std * z


class MLPEncoder(nn.Module):
    """x (flattened) -> [Linear, ReLU] x layers -> Linear to z."""

    def __init__(self, data: DataSpec, hidden: int, layers: int, z_dim: int) -> None:
        super().__init__()
        dims = [math.prod(data.shape)] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            blocks += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(*blocks, nn.Linear(dims[-1], z_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class ConvToCode(nn.Module):
    """A conv trunk's flattened features -> a linear code."""

    def __init__(self, trunk: nn.Module, features: int, z_dim: int) -> None:
        super().__init__()
        self.trunk, self.code = trunk, nn.Linear(features, z_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.code(self.trunk(x))


class Decoder(nn.Module):
    """z -> image, for a conv (DCGAN-style) or MLP body."""

    def __init__(self, body: nn.Module, conv: bool) -> None:
        super().__init__()
        self.body, self.conv = body, conv

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z) if self.conv else self.body(z, None)


def image_encoder(cfg: dict[str, Any], data: DataSpec, z_dim: int) -> nn.Module:
    """x -> z for the preset's body (conv: d_ch / d_norm; mlp: hidden x layers)."""
    if cfg.get("body", "conv") == "mlp":
        return MLPEncoder(data, int(cfg.get("hidden", 1000)), int(cfg.get("layers", 2)), z_dim)
    trunk = conv_encoder({**cfg, "pack": 1, "mbstd": 0, "mbdisc": None, "dropout": 0.0}, data)
    enc = ConvToCode(trunk, trunk.out_dim, z_dim)
    dcgan_init(enc)
    return enc


def image_decoder(cfg: dict[str, Any], data: DataSpec, z_dim: int) -> nn.Module:
    """z -> x (tanh) for the preset's body (conv: g_ch / g_norm; mlp: hidden x layers)."""
    if cfg.get("body", "conv") == "mlp":
        return Decoder(MLPGenerator(z_dim, data, int(cfg.get("hidden", 1000)), int(cfg.get("layers", 2)), "none"), conv=False)
    return Decoder(conv_generator(cfg, data, z_dim), conv=True)


def make_prior(cfg: dict[str, Any], z_dim: int) -> Prior:
    """The preset's prior (`prior`, with `components`, `prior_radius`, `prior_std` for a mixture)."""
    return Prior(str(cfg.get("prior", "gaussian")), z_dim, int(cfg.get("components", 10)), float(cfg.get("prior_radius", 4.0)),
                 float(cfg.get("prior_std", 0.5)))


class EncoderGenerator(nn.Module):
    """The generator side of an encoder model: `forward(z)` decodes (the sampler), `encode(x)` infers z,
    `sample_latent(n, generator)` draws from the prior (used by the sampling and tracking of GAN runs)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, prior: Prior) -> None:
        super().__init__()
        self.encoder, self.decoder, self.prior = encoder, decoder, prior
        self.z_dim = prior.z_dim

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = E(x)."""
        return self.encoder(x)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws of the prior."""
        return self.prior.sample(n, generator)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(z)


def check_encoder_family(cfg: dict[str, Any], data: DataSpec, family: str) -> None:
    """Image data; a known body and prior; conv bodies need the conv stacks' resolutions."""
    _, res = check_image(cfg, data, family)
    name = preset_name(cfg, family)
    body, prior = cfg.get("body", "conv"), cfg.get("prior", "gaussian")
    require(body in BODIES, f"archs.{name}.body: unknown body '{body}' (known: {', '.join(BODIES)})")
    require(prior in PRIORS, f"archs.{name}.prior: unknown prior '{prior}' (known: {', '.join(PRIORS)})")
    if body == "conv":
        check_conv_resolution(cfg, res, family)
    if prior == "mixture":
        require(int(cfg.get("components", 10)) >= 1, f"archs.{name}.components: must be >= 1")
        require(int(cfg["z_dim"]) >= 2, f"archs.{name}: a mixture prior needs z_dim >= 2 (its means lie in the first two dimensions)")
