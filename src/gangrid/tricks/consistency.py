"""Consistency regularisation (Zhang et al. 2020, CR-GAN): weight * E (D(T(x)) - D(x))^2 on
real inputs of D, T a semantics-preserving augmentation (random horizontal flip and a
translation by up to 1/8 of the side for images; a U(-point_shift, point_shift) shift for
2-D points). `fake_weight` > 0 adds the same term on fakes (bCR, Zhao et al. 2021).
Gradients flow through both D(x) and D(T(x)), as in the paper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gangrid.tricks import DBatch, Trick, register_trick
from gangrid.tricks._augment import hflip, shift_points, translation

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


@register_trick("consistency")
class Consistency(Trick):
    """weight: lambda for reals (10); fake_weight: lambda for fakes (0 = CR, 10 = bCR);
    translation: max shift as a fraction of the side; point_shift: shift for points."""

    defaults = {"weight": 10.0, "fake_weight": 0.0, "translation": 0.125, "flip": True, "point_shift": 0.05}

    def check(self) -> None:
        for key in ("weight", "fake_weight", "point_shift"):
            self.require(self.hp[key] >= 0, key, "must be >= 0")
        self.require(0 <= self.hp["translation"] < 1, "translation", "must be in [0, 1)")

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """T(x): the augmentation the discriminator should be invariant to."""
        x = x.detach()
        if x.dim() != 4:
            return shift_points(x, self.hp["point_shift"])
        if self.hp["flip"]:
            x = hflip(x)
        return translation(x, self.hp["translation"])

    def term(self, trainer: "Trainer", x: torch.Tensor, logits: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """E (D(T(x)) - D(x))^2."""
        return (trainer.d(self.transform(x), y).logits - logits).pow(2).mean()

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        out = {"cr": self.hp["weight"] * self.term(trainer, batch.real, batch.real_logits, batch.y_real)}
        if self.hp["fake_weight"] > 0:
            out["cr_fake"] = self.hp["fake_weight"] * self.term(trainer, batch.fake, batch.fake_logits, batch.y_fake)
        return out
