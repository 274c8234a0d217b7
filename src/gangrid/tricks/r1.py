"""R1 regularisation (Mescheder et al. 2018): (gamma / 2) E_x ||grad_x D(x)||^2 on real data.

The real input of D is marked as requiring grad in `d_inputs` (this trick runs after every
input transform, packing included), so the penalty reuses the D forward of the loss
instead of a second one. Squared norms are per sample over the flattened gradient.

Lazy regularisation (StyleGAN2, Karras et al. 2020): with `every` k > 1 the penalty is computed
on every k-th D step only (the 1st, k+1-th, ...) and multiplied by k, so its average weight is
unchanged at a k-th of the cost (StyleGAN2: k = 16). The count of D steps is checkpointed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    """gamma: regularisation weight (10 in StyleGAN / Mescheder et al.); every: lazy interval (1: every D step)."""

    defaults = {"gamma": 10.0, "every": 1}
    order = 85  # last input transform: the gradient is taken w.r.t. D's actual input

    def __init__(self, **hp: Any) -> None:
        super().__init__(**hp)
        self.count = 0  # D steps so far
        self.active = True

    def check(self) -> None:
        self.require(self.hp["gamma"] >= 0, "gamma", "must be >= 0")
        self.require(isinstance(self.hp["every"], int) and self.hp["every"] >= 1, "every", "must be an integer >= 1")

    def d_inputs(self, trainer: "Trainer", real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.active = self.count % int(self.hp["every"]) == 0
        self.count += 1
        return (real.detach().requires_grad_(True) if self.active else real), fake

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        if not self.active:
            return {"r1": torch.zeros((), device=batch.real.device)}
        grad = input_gradients(trainer.d, batch.real, batch.y_real, batch.real_logits)
        return {"r1": 0.5 * self.hp["gamma"] * int(self.hp["every"]) * r1_penalty(grad)}

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count} if int(self.hp["every"]) > 1 else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.count = int(state.get("count", self.count))
