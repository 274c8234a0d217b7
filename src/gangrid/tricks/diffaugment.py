"""DiffAugment (Zhao et al. 2020): the same differentiable augmentations on real and fake
inputs of D, in the D step and in the G step, so G learns the un-augmented distribution."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gangrid.tricks import Trick, register_trick
from gangrid.tricks._augment import IMAGE_POLICIES, color, cutout, shift_points, translation

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


@register_trick("diffaugment")
class DiffAugment(Trick):
    """policy: ops applied in order, from color / translation / cutout (default: the paper's
    'color,translation,cutout', in that order, so cutout squares stay 0). Ratios as in the paper
    (1/8 shift, 1/2 cutout). `clamp: true` clips colour-augmented images back to [-1, 1], a
    departure: the reference code does not clamp (the default). On 2-D points only `translation`
    has a meaning: each point is shifted by U(-point_shift, point_shift) per coordinate; cutout
    and color are skipped."""

    defaults = {"policy": ["color", "translation", "cutout"], "translation": 0.125, "cutout": 0.5,
                "clamp": False, "point_shift": 0.125}
    order = 20  # after the replay buffer (which stores raw fakes), before noise and packing

    def check(self) -> None:
        policy = self.hp["policy"]
        self.require(isinstance(policy, list) and len(policy) > 0, "policy", "must be a non-empty list")
        bad = [p for p in policy if p not in IMAGE_POLICIES]
        self.require(not bad, "policy", f"unknown op(s) {bad} (known: {', '.join(IMAGE_POLICIES)})")
        self.require(0 <= self.hp["translation"] < 1, "translation", "must be in [0, 1)")
        self.require(0 <= self.hp["cutout"] < 1, "cutout", "must be in [0, 1)")
        self.require(self.hp["point_shift"] >= 0, "point_shift", "must be >= 0")

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """One independent draw of the policy for every sample of x."""
        if x.dim() != 4:
            return shift_points(x, self.hp["point_shift"]) if "translation" in self.hp["policy"] else x
        for op in self.hp["policy"]:
            if op == "translation":
                x = translation(x, self.hp["translation"])
            elif op == "cutout":
                x = cutout(x, self.hp["cutout"])
            else:
                x = color(x, self.hp["clamp"])
        return x

    def d_inputs(self, trainer: "Trainer", real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.augment(real), self.augment(fake)

    def g_inputs(self, trainer: "Trainer", fake: torch.Tensor) -> torch.Tensor:
        return self.augment(fake)
