"""Virtual batch normalisation in G (Salimans et al. 2016).

Every batch-norm layer of the generator normalises each example with the statistics of a fixed
reference batch combined with that example alone, instead of the statistics of its own
mini-batch, so an output no longer depends on the other examples it was generated with. The
reference batch is a fixed set of `reference` latents (drawn once from `seed`; their labels
cycle through the classes for a conditional G) that goes through G in front of every batch:
a layer normalises the reference rows with the reference statistics (mean, mean of squares per
channel) and example i with

  mu_i = (N mu_ref + m_i) / (N + 1),   s_i = (N s_ref + q_i) / (N + 1),   var_i = s_i - mu_i^2,

m_i, q_i = example i's own per-channel mean and mean of squares (over its pixels): the moments of
the batch "reference + example i", as in the paper's code. That is twice the generator's work
per step, which is why the paper uses it in G only. The layers keep their learned scale and
shift; there are no running statistics (sampling uses the same reference). Needs a generator
with batch norm (dcgan, cgan, acgan, infogan, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gangrid.errors import ConfigError
from gangrid.tricks import Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


class VirtualBatchNorm(nn.Module):
    """Batch norm against the first `n_ref` rows of the batch (the reference); see the module docstring."""

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm, n_ref: int) -> None:
        super().__init__()
        self.n_ref, self.eps = n_ref, bn.eps
        self.weight = bn.weight
        self.bias = bn.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = [0] + list(range(2, x.dim()))
        own = list(range(2, x.dim()))
        ref = x[: self.n_ref]
        mean_ref, sq_ref = ref.mean(dims, keepdim=True), ref.pow(2).mean(dims, keepdim=True)
        rest = x[self.n_ref :]
        if own:
            mean_own, sq_own = rest.mean(own, keepdim=True), rest.pow(2).mean(own, keepdim=True)
        else:
            mean_own, sq_own = rest, rest.pow(2)
        new = 1.0 / (self.n_ref + 1)
        mean = torch.cat([mean_ref.expand(len(ref), *mean_ref.shape[1:]), new * mean_own + (1 - new) * mean_ref])
        sq = torch.cat([sq_ref.expand(len(ref), *sq_ref.shape[1:]), new * sq_own + (1 - new) * sq_ref])
        out = (x - mean) * torch.rsqrt(sq - mean.pow(2) + self.eps)
        if self.weight is not None:
            shape = [1, -1] + [1] * (x.dim() - 2)
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out


def replace_batch_norms(module: nn.Module, n_ref: int) -> int:
    """Swap every BatchNorm layer inside `module` for a VirtualBatchNorm (in place); how many were swapped."""
    count = 0
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(module, name, VirtualBatchNorm(child, n_ref))
            count += 1
        else:
            count += replace_batch_norms(child, n_ref)
    return count


class ReferenceBatchGenerator(nn.Module):
    """Runs the wrapped generator on [reference latents; z] and returns the rows of z."""

    def __init__(self, g: nn.Module, n_ref: int) -> None:
        super().__init__()
        self.inner, self.n_ref = g, n_ref
        self.register_buffer("z_ref", torch.zeros(0))
        self.register_buffer("y_ref", torch.zeros(0, dtype=torch.long))

    def __getattr__(self, name: str) -> Any:
        """The wrapped generator's attributes (its own prior `sample_latent`, `figures`, ...)."""
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["inner"], name)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        zz = torch.cat([self.z_ref.to(z.dtype), z])
        yy = None if y is None else torch.cat([self.y_ref, y])
        return self.inner(zz, yy)[self.n_ref :]


@register_trick("virtual_batch_norm")
class VirtualBatchNormTrick(Trick):
    """reference: size N of the reference batch; seed: of its latents."""

    defaults = {"reference": 64, "seed": 0}
    order = 5  # wraps G before spectral norm / EMA copy it

    def check(self) -> None:
        self.require(isinstance(self.hp["reference"], int) and self.hp["reference"] >= 1, "reference", "must be an integer >= 1")

    def wrap_nets(self, g: nn.Module, d: nn.Module) -> tuple[nn.Module, nn.Module]:
        if replace_batch_norms(g, int(self.hp["reference"])) == 0:
            raise ConfigError("virtual_batch_norm: the generator has no batch-norm layer to replace (g_norm: batch)")
        return ReferenceBatchGenerator(g, int(self.hp["reference"])), d

    def setup(self, trainer: "Trainer") -> None:
        g: ReferenceBatchGenerator = trainer.g  # type: ignore[assignment]
        n = int(self.hp["reference"])
        gen = torch.Generator().manual_seed(int(self.hp["seed"]))
        if hasattr(g.inner, "sample_latent"):  # a structured prior (InfoGAN codes)
            z_ref = g.inner.sample_latent(n, gen)
        else:
            z_ref = torch.randn(n, int(trainer.config["train"]["z_dim"]), generator=gen)
        g.z_ref = z_ref.to(trainer.device)
        if trainer.data.n_classes:
            g.y_ref = (torch.arange(n) % trainer.data.n_classes).to(trainer.device)
