"""R1 regularisation (Mescheder et al. 2018): (gamma / 2) E_x ||grad_x D(x)||^2 on real data.

The real input of D is marked as requiring grad in `d_inputs` (this trick runs after every
input transform, packing included), so the penalty reuses the D forward of the loss
instead of a second one. Squared norms are per sample over the flattened gradient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gangrid.tricks import DBatch, Trick, register_trick
from gangrid.tricks.gradient_penalty import input_gradients

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def r1_penalty(grad: torch.Tensor) -> torch.Tensor:
    """E ||g||^2 over the batch, the squared norm taken over each flattened sample gradient."""
    return grad.flatten(1).pow(2).sum(1).mean()


@register_trick("r1")
class R1(Trick):
    """gamma: regularisation weight (10 in StyleGAN / Mescheder et al.)."""

    defaults = {"gamma": 10.0}
    order = 85  # last input transform: the gradient is taken w.r.t. D's actual input

    def check(self) -> None:
        self.require(self.hp["gamma"] >= 0, "gamma", "must be >= 0")

    def d_inputs(self, trainer: "Trainer", real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return real.detach().requires_grad_(True), fake

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        grad = input_gradients(trainer.d, batch.real, batch.y_real, batch.real_logits)
        return {"r1": 0.5 * self.hp["gamma"] * r1_penalty(grad)}
