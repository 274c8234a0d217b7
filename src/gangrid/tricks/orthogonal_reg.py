"""BigGAN's orthogonal regularisation (Brock et al. 2019), implied by the `biggan` presets.

G's loss gains beta * sum_W ||W W^T * (1 - I)||_F^2 over every weight matrix of G (conv
kernels flattened to (out, in * k * k); the raw weights under spectral norm), except class
embeddings: it pushes filters towards orthogonality without constraining their norms, which
makes G amenable to the truncation trick. beta = 1e-4 in the paper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from gangrid.tricks import GBatch, Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def orthogonal_penalty(weights: list[torch.Tensor]) -> torch.Tensor:
    """sum_W ||W W^T * (1 - I)||_F^2 with W flattened to (rows, -1)."""
    total = weights[0].new_zeros(())
    for w in weights:
        m = w.flatten(1)
        gram = m @ m.t()
        total = total + (gram * (1.0 - torch.eye(len(gram), device=gram.device, dtype=gram.dtype))).pow(2).sum()
    return total


def regularised_weights(g: nn.Module) -> list[torch.Tensor]:
    """G's parameters with two or more dimensions, minus embedding tables."""
    skip = {id(m.weight) for m in g.modules() if isinstance(m, nn.Embedding)}
    return [p for p in g.parameters() if p.dim() >= 2 and id(p) not in skip]


@register_trick("orthogonal_reg")
class OrthogonalReg(Trick):
    """weight: beta."""

    defaults = {"weight": 1e-4}

    def check(self) -> None:
        self.require(self.hp["weight"] >= 0, "weight", "must be >= 0")

    def setup(self, trainer: "Trainer") -> None:
        self.weights = regularised_weights(trainer.g)

    def g_penalties(self, trainer: "Trainer", batch: GBatch) -> dict[str, torch.Tensor]:
        return {"ortho": self.hp["weight"] * orthogonal_penalty(self.weights)}
