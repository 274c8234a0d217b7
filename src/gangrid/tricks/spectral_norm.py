"""Spectral normalisation (Miyato et al. 2018): W / sigma(W) on every conv/linear layer of D
(and of G with `generator: true`, as in SAGAN/BigGAN), sigma estimated by power iteration
(1 per training forward pass; the vectors u, v are buffers, so checkpoints hold them).

Conv weights are normalised as the (C_out, C_in*k*k) matrix, as in the paper (dim 1 =
output channels for ConvTranspose2d). D's class embeddings (the projection discriminator's
and BigGAN's, the cGAN's label embedding) are normalised too, as the (n_classes, dim) matrix:
the SNGAN-projection reference code (Miyato & Koyama 2018) uses SNEmbedID there, and BigGAN's
D an SN embedding. G's embeddings are not (in BigGAN's code G's shared embedding is plain; its
class-conditional BN gains come from SN linear layers). Minibatch-discrimination tensors are
plain parameters and are not normalised.

D loses its batch norms (`d_batch_norm: false`, the default): the paper's spectrally normalised
discriminators have none (Miyato et al. 2018, Table 3 and the SNGAN ResNets: batch norm in G only),
and a batch norm after a normalised layer rescales its output by the batch statistics, undoing the
Lipschitz bound the normalisation buys. `d_batch_norm: true` keeps them (a common, non-paper mix)."""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gangrid.errors import ConfigError
from gangrid.tricks import Trick, register_trick

LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def apply_spectral_norm(module: nn.Module, n_power_iterations: int = 1, embeddings: bool = False) -> nn.Module:
    """Parametrise every conv / linear weight of `module` (and every embedding table, with
    `embeddings`) by its spectral normalisation."""
    layers = (*LAYERS, nn.Embedding) if embeddings else LAYERS
    for m in list(module.modules()):
        if isinstance(m, layers) and not hasattr(m, "parametrizations"):
            dim = 1 if isinstance(m, nn.ConvTranspose2d) else 0
            spectral_norm(m, n_power_iterations=n_power_iterations, dim=dim)
    return module


@register_trick("spectral_norm")
class SpectralNorm(Trick):
    """Spectral norm on D (and optionally G, as in SAGAN/BigGAN)."""

    defaults = {"n_power_iterations": 1, "generator": False, "d_batch_norm": False}
    order = 10

    def check(self) -> None:
        n = self.hp["n_power_iterations"]
        self.require(isinstance(n, int) and n >= 1, "n_power_iterations", "must be an integer >= 1")
        self.require(isinstance(self.hp["d_batch_norm"], bool), "d_batch_norm", "must be true or false")

    def wrap_nets(self, g: nn.Module, d: nn.Module) -> tuple[nn.Module, nn.Module]:
        for net, which in ((d, "D"), (g, "G")) if self.hp["generator"] else ((d, "D"),):
            uncovered = sorted({type(m).__name__ for m in net.modules() if is_equalized(m)})
            if uncovered:
                raise ConfigError(
                    f"spectral_norm: {which} has equalized-learning-rate layers ({', '.join(uncovered)}), which it "
                    f"would leave unnormalised; regularise ProGAN / StyleGAN nets with r1 or wgan_gp instead")
        if not self.hp["d_batch_norm"]:
            d = drop_batch_norms(d)
        d = apply_spectral_norm(d, self.hp["n_power_iterations"], embeddings=True)
        if self.hp["generator"]:
            g = apply_spectral_norm(g, self.hp["n_power_iterations"])
        return g, d


def drop_batch_norms(module: nn.Module) -> nn.Module:
    """`module` with every batch-norm layer replaced by the identity."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(module, name, nn.Identity())
        else:
            drop_batch_norms(child)
    return module


def is_equalized(module: nn.Module) -> bool:
    """True for a layer with ProGAN's equalized learning rate (a raw `weight` scaled at run time)."""
    from gangrid.nets.blocks import EqualizedConv2d, EqualizedLinear

    return isinstance(module, (EqualizedConv2d, EqualizedLinear))
