"""Weight clipping of the critic (Arjovsky et al. 2017, WGAN): every D parameter is clamped
to [-c, c] after each critic update (c = 0.01 in the paper), as in the reference code
(`for p in netD.parameters(): p.data.clamp_(-c, c)`), normalisation scales included."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gangrid.tricks import Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


@torch.no_grad()
def clip_weights(params: list[torch.Tensor], c: float) -> None:
    """Clamp every tensor of `params` to [-c, c] in place (one fused kernel per bound)."""
    if params:
        torch._foreach_clamp_min_(params, -c)
        torch._foreach_clamp_max_(params, c)


@register_trick("weight_clip")
class WeightClip(Trick):
    """c: clipping bound."""

    defaults = {"c": 0.01}

    def check(self) -> None:
        self.require(self.hp["c"] > 0, "c", "must be > 0")

    def setup(self, trainer: "Trainer") -> None:
        self.params = list(trainer.d.parameters())
        clip_weights(self.params, self.hp["c"])  # the critic starts inside the clipped set

    def after_d_step(self, trainer: "Trainer") -> None:
        clip_weights(self.params, self.hp["c"])
