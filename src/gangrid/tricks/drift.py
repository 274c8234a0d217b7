"""ProGAN's drift penalty (Karras et al. 2018, Appendix A.1): epsilon * E_x D(x)^2 on the real
logits, added to the WGAN-GP critic loss so the critic's output does not drift far from 0
(epsilon = 0.001 in the paper and its code). Implied by the `progan` presets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gangrid.tricks import DBatch, Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


@register_trick("drift")
class Drift(Trick):
    """epsilon: weight of the squared real logits (0.001)."""

    defaults = {"epsilon": 0.001}

    def check(self) -> None:
        self.require(self.hp["epsilon"] >= 0, "epsilon", "must be >= 0")

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        return {"drift": self.hp["epsilon"] * batch.real_logits.float().pow(2).mean()}
