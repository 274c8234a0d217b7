"""Spectral normalisation (Miyato et al. 2018): W / sigma(W) on every conv/linear layer, 1 power iteration."""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gangrid.tricks import Trick, register_trick

LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def apply_spectral_norm(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Parametrise every conv / linear weight of `module` by its spectral normalisation."""
    for m in list(module.modules()):
        if isinstance(m, LAYERS) and not hasattr(m, "parametrizations"):
            dim = 1 if isinstance(m, nn.ConvTranspose2d) else 0
            spectral_norm(m, n_power_iterations=n_power_iterations, dim=dim)
    return module


@register_trick("spectral_norm")
class SpectralNorm(Trick):
    """Spectral norm on D (and optionally G, as in SAGAN/BigGAN)."""

    defaults = {"n_power_iterations": 1, "generator": False}
    order = 10

    def wrap_nets(self, g: nn.Module, d: nn.Module) -> tuple[nn.Module, nn.Module]:
        d = apply_spectral_norm(d, self.hp["n_power_iterations"])
        if self.hp["generator"]:
            g = apply_spectral_norm(g, self.hp["n_power_iterations"])
        return g, d
