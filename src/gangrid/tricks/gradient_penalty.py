"""Gradient penalty (Gulrajani et al. 2017, WGAN-GP): weight * E (||grad_x D(x_hat)||_2 - center)^2,
x_hat = a x + (1 - a) G(z), a ~ U[0, 1] per sample.

The norm is per sample over the FLATTENED gradient (B, -1), as in the paper's code: `norm(2, dim=1)`
of a 4-D image gradient would be a norm over channels only. The paper
uses no batch norm in the critic (the penalty is per sample); `critic_norm` replaces every
BatchNorm of D by a per-sample normalisation at build time: `layer` (LayerNorm over C, H, W,
as in the paper) or `none`; `keep` leaves the architecture alone.

A class-conditional critic scores x_hat with a label, so the two ends of an interpolation must
share it: the conditional WGAN-GP of Gulrajani et al. (their conditional CIFAR-10 code) draws the
critic's fakes with the real batch's labels, so real i and fake i always do. The GAN loop draws
fake labels independently, so here real and fake samples are paired within the batch by label
(the k-th real of class c with the k-th fake of class c; `label_pairs`) and the penalty is the
mean over the pairs found; x_hat is scored with their common label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gangrid.tricks import DBatch, Trick, register_trick
from gangrid.tricks._checks import d_needs_labels

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer

CRITIC_NORMS = ("layer", "none", "keep")


def replace_batchnorm(module: nn.Module, kind: str) -> nn.Module:
    """Swap every BatchNorm1d/2d in `module` for LayerNorm-like (`layer`) or Identity (`none`)."""
    for name, child in list(module.named_children()):
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if kind == "none":
                new: nn.Module = nn.Identity()
            elif isinstance(child, nn.BatchNorm2d):
                new = nn.GroupNorm(1, child.num_features)  # LayerNorm over (C, H, W), affine per channel
            else:
                new = nn.LayerNorm(child.num_features)
            setattr(module, name, new)
        else:
            replace_batchnorm(child, kind)
    return module


def input_gradients(d: nn.Module, x: torch.Tensor, y: torch.Tensor | None, logits: torch.Tensor | None = None) -> torch.Tensor:
    """d D(x).sum() / dx, with a graph (for a penalty that is itself differentiated).
    `x` must require grad; pass `logits` when D(x) was already computed from this x."""
    if logits is None:
        logits = d(x, y).logits
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad


def gradient_penalty(d: nn.Module, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None = None,
                     center: float = 1.0, y_fake: torch.Tensor | None = None) -> torch.Tensor:
    """E (||grad D(x_hat)||_2 - center)^2 over random interpolates; per-sample norms of flattened gradients.

    With `y_fake` (a class-conditional critic), real i is interpolated with the fake `label_pairs`
    gives it, x_hat is scored with their common label y[i], and the mean runs over the pairs found."""
    valid = None
    if y_fake is not None:
        assert y is not None, "a conditional penalty needs the real labels"
        idx, valid = label_pairs(y, y_fake)
        fake = fake[idx]
    a = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), dtype=real.dtype, device=real.device)
    x_hat = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
    grad = input_gradients(d, x_hat, y)
    norms = grad.flatten(1).norm(2, dim=1)
    if valid is None:
        return ((norms - center) ** 2).mean()
    w = valid.to(norms.dtype)
    return (w * (norms - center) ** 2).sum() / w.sum().clamp_min(1.0)


def label_pairs(y_real: torch.Tensor, y_fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(idx, valid): fake idx[i] has real i's label, each fake used once (the k-th real of a class
    pairs with the k-th fake of that class); valid[i] is False where that class has too few fakes."""
    def rank(y: torch.Tensor) -> torch.Tensor:  # how many earlier samples share each sample's label
        return torch.tril(y[:, None] == y[None, :], diagonal=-1).sum(1)

    match = (y_real[:, None] == y_fake[None, :]) & (rank(y_real)[:, None] == rank(y_fake)[None, :])
    return match.to(torch.uint8).argmax(1), match.any(1)


@register_trick("gradient_penalty")
class GradientPenalty(Trick):
    """weight: lambda (10); center: target norm (1; 0 gives the zero-centred variant);
    critic_norm: what replaces batch norm in D (layer | none | keep)."""

    defaults = {"weight": 10.0, "center": 1.0, "critic_norm": "layer"}

    def check(self) -> None:
        self.require(self.hp["weight"] >= 0, "weight", "must be >= 0")
        self.require(self.hp["critic_norm"] in CRITIC_NORMS, "critic_norm", f"must be one of {', '.join(CRITIC_NORMS)}")

    def wrap_nets(self, g: nn.Module, d: nn.Module) -> tuple[nn.Module, nn.Module]:
        if self.hp["critic_norm"] != "keep":
            d = replace_batchnorm(d, self.hp["critic_norm"])
        return g, d

    def __init__(self, **hp: Any) -> None:
        super().__init__(**hp)
        self.conditional = False  # a class-conditional critic: interpolate same-label pairs (set up per run)

    def setup(self, trainer: "Trainer") -> None:
        self.conditional = d_needs_labels(trainer)

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        y_fake = batch.y_fake if self.conditional else None
        gp = gradient_penalty(trainer.d, batch.real, batch.fake, batch.y_real, self.hp["center"], y_fake)
        return {"gp": self.hp["weight"] * gp}
