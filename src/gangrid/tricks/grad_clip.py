"""Gradient-norm clipping: the global L2 norm of each network's gradients is
rescaled to at most `max_norm` before its optimiser step (no host sync: the clip factor
stays on the device)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gangrid.tricks import Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


@register_trick("grad_clip")
class GradClip(Trick):
    """max_norm: the bound; d / g: which networks are clipped."""

    defaults = {"max_norm": 1.0, "d": True, "g": True}
    order = 60

    def check(self) -> None:
        self.require(self.hp["max_norm"] > 0, "max_norm", "must be > 0")

    def before_d_optim(self, trainer: "Trainer") -> None:
        if self.hp["d"]:
            torch.nn.utils.clip_grad_norm_(trainer.d.parameters(), self.hp["max_norm"], foreach=True)

    def before_g_optim(self, trainer: "Trainer") -> None:
        if self.hp["g"]:
            torch.nn.utils.clip_grad_norm_(trainer.g.parameters(), self.hp["max_norm"], foreach=True)
