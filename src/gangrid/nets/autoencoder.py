"""Auto-encoder discriminators of the energy-based GANs: EBGAN (Zhao et al. 2017) and BEGAN (Berthelot et al. 2017).

D reconstructs its input, D(x) = Dec(Enc(x)), and its energy is the reconstruction error: EBGAN's
E(x) = ||Dec(Enc(x)) - x||_2 (the L2 norm over every pixel, as the paper writes it, so its margins
m = 10 on MNIST, 20 on CelebA, are on the paper's scale), BEGAN's L(x) = the mean over pixels of
|x - Dec(Enc(x))| (its eta = 1). D returns DOut(logits = -E(x), features = Enc(x)): higher
still means "more real", as for every other D, and the `energy` loss, EBGAN's margin (ebgan_margin)
and BEGAN's equilibrium (began) read the energy as -logits; the code Enc(x) is what EBGAN's
pulling-away term (pulling_away) sees.

Families:
  ebgan  G: the DCGAN-style conv generator (g_ch, g_norm); D: conv encoder (d_ch, d_norm) -> linear code
         (code_dim) -> conv decoder (tanh), as the EBGAN paper's auto-encoder D.
  began  BEGAN's nets, no normalisation: G and D's decoder: h -> s x s x n, then [conv3 ELU, conv3 ELU,
         nearest up x2] per scale, conv3 to the image; D's encoder: conv3, then [conv3 ELU, conv3 ELU,
         conv3 stride 2 to the next width] per scale (widths n, 2n, 3n, ...), linear to h
         (n = `ch`, h = `code_dim`; z_dim = h as in the paper when the preset says so).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gangrid.nets import DataSpec, DOut, register_family, require
from gangrid.nets.blocks import ConvGenerator, check_conv_resolution, check_image, conv_encoder, conv_generator, preset_name, start_size
from gangrid.nets.common import dcgan_init
from gangrid.nets.encoders import ConvToCode


NORM_EPS = 1e-12  # keeps the norm's gradient finite at a perfect reconstruction


def norm_energy(x: torch.Tensor, rec: torch.Tensor) -> torch.Tensor:
    """EBGAN's energy per sample: ||x - rec||_2 over every pixel, shape (B,)."""
    return ((x - rec).pow(2).flatten(1).sum(1) + NORM_EPS).sqrt()


def l1_energy(x: torch.Tensor, rec: torch.Tensor) -> torch.Tensor:
    """BEGAN's loss per sample: the mean over every pixel of |x - rec| (eta = 1), shape (B,)."""
    return (x - rec).abs().flatten(1).mean(1)


ENERGIES = {"norm": norm_energy, "l1": l1_energy}


class AutoEncoderD(nn.Module):
    """An auto-encoder used as a discriminator: logits = -energy, features = the code."""

    energy_based = True

    def __init__(self, encoder: nn.Module, decoder: nn.Module, energy: str) -> None:
        super().__init__()
        self.encoder, self.decoder, self.energy = encoder, decoder, energy

    def reconstruct(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(code, reconstruction) of a batch."""
        code = self.encoder(x)
        return code, self.decoder(code)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        code, rec = self.reconstruct(x)
        return DOut(-ENERGIES[self.energy](x, rec.to(x.dtype)), code.flatten(1))


class Generator(nn.Module):
    """A decoder used as a generator: z -> image (the class label is ignored)."""

    def __init__(self, decoder: nn.Module, z_dim: int) -> None:
        super().__init__()
        self.decoder, self.z_dim = decoder, z_dim

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(z)


def conv3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    """A 3x3 convolution keeping (stride 1) or halving (stride 2) the size."""
    return nn.Conv2d(c_in, c_out, 3, stride, 1)


class BeganDecoder(nn.Module):
    """BEGAN's decoder: h -> s x s x n -> [conv3 ELU, conv3 ELU, nearest up x2] per scale -> conv3 to C."""

    def __init__(self, h_dim: int, channels: int, res: int, n: int) -> None:
        super().__init__()
        self.start, n_up = start_size(res)
        self.n = n
        self.fc = nn.Linear(h_dim, n * self.start * self.start)
        layers: list[nn.Module] = []
        for i in range(n_up + 1):
            layers += [conv3(n, n), nn.ELU(), conv3(n, n), nn.ELU()]
            if i < n_up:
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        layers.append(conv3(n, channels))
        self.body = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.body(self.fc(h).view(h.shape[0], self.n, self.start, self.start))


class BeganEncoder(nn.Module):
    """BEGAN's encoder: conv3, then per scale [conv3 ELU, conv3 ELU, conv3 stride 2 to the next width]
    (widths n, 2n, 3n, ...), then a linear map of the s x s map to h."""

    def __init__(self, channels: int, res: int, n: int, h_dim: int) -> None:
        super().__init__()
        start, n_down = start_size(res)
        layers: list[nn.Module] = [conv3(channels, n), nn.ELU()]
        for i in range(n_down + 1):
            c = n * (i + 1)
            layers += [conv3(c, c), nn.ELU(), conv3(c, c), nn.ELU()]
            if i < n_down:
                layers += [conv3(c, n * (i + 2), stride=2), nn.ELU()]
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(n * (n_down + 1) * start * start, h_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x).flatten(1))


def check_energy(cfg: dict[str, Any], data: DataSpec) -> None:
    """Square images of s * 2**k pixels (s in 4..7), a code of at least one unit."""
    _, res = check_image(cfg, data, str(cfg.get("family", "ebgan")))
    check_conv_resolution(cfg, res, str(cfg.get("family", "ebgan")))
    require(int(cfg.get("code_dim", 1)) >= 1, f"archs.{preset_name(cfg, 'ebgan')}.code_dim: must be >= 1, got {cfg.get('code_dim')}")


@register_family("ebgan", check=check_energy)
def build_ebgan(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """EBGAN: a DCGAN-style generator and an auto-encoder discriminator whose energy is the L2 reconstruction norm."""
    code_dim = int(cfg.get("code_dim", 64))
    g = conv_generator(cfg, data, int(cfg["z_dim"]))
    trunk = conv_encoder(cfg, data)
    decoder = ConvGenerator(code_dim, data.shape[0], data.shape[1], int(cfg.get("d_ch", 64)), cfg.get("d_norm", "batch"),
                            cfg.get("upsample", "convt"))
    encoder = ConvToCode(trunk, trunk.out_dim, code_dim)
    d = AutoEncoderD(encoder, decoder, "norm")
    dcgan_init(d)
    return Generator(g, int(cfg["z_dim"])), d


@register_family("began", check=check_energy)
def build_began(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """BEGAN: G = its decoder architecture; D = encoder + decoder with L1 energy (eta = 1)."""
    c, res = data.shape[0], data.shape[1]
    n, h = int(cfg.get("ch", 32)), int(cfg.get("code_dim", 64))
    g = BeganDecoder(int(cfg["z_dim"]), c, res, n)
    d = AutoEncoderD(BeganEncoder(c, res, n, h), BeganDecoder(h, c, res, n), "l1")
    return Generator(g, int(cfg["z_dim"])), d
