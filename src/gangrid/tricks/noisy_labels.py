"""Noisy and flipped discriminator labels (Salimans et al. 2016; "ganhacks").

Each D output's target is swapped with the other class's target with
probability `flip`, then jittered by U(-noise, noise) and clipped to [0, 1]
(targets outside [0, 1] make the cross-entropy unbounded below). Per-sample
targets are drawn on the device from the global torch RNG.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gangrid.losses import Targets
from gangrid.tricks import Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def noisy_targets(real: float | torch.Tensor, fake: float | torch.Tensor, n: int, flip: float, noise: float,
                  device: torch.device) -> Targets:
    """Per-sample targets: (real, fake) swapped with probability `flip`, plus U(-noise, noise), in [0, 1]."""
    real_t = torch.as_tensor(real, dtype=torch.float32, device=device).expand(n)
    fake_t = torch.as_tensor(fake, dtype=torch.float32, device=device).expand(n)
    flip_r = torch.rand(n, device=device) < flip
    flip_f = torch.rand(n, device=device) < flip
    new_real = torch.where(flip_r, fake_t, real_t)
    new_fake = torch.where(flip_f, real_t, fake_t)
    if noise > 0:
        new_real = (new_real + (torch.rand(n, device=device) * 2 - 1) * noise).clamp(0.0, 1.0)
        new_fake = (new_fake + (torch.rand(n, device=device) * 2 - 1) * noise).clamp(0.0, 1.0)
    return Targets(real=new_real, fake=new_fake)


@register_trick("noisy_labels")
class NoisyLabels(Trick):
    """flip: probability of swapping a sample's label; noise: uniform jitter of the targets."""

    defaults = {"flip": 0.05, "noise": 0.0}
    order = 45  # after label smoothing: flips swap the smoothed targets

    def check(self) -> None:
        self.require(0.0 <= self.hp["flip"] <= 1.0, "flip", "must be in [0, 1]")
        self.require(0.0 <= self.hp["noise"] <= 1.0, "noise", "must be in [0, 1]")

    def d_targets(self, trainer: "Trainer", targets: Targets, n: int) -> Targets:
        return noisy_targets(targets.real, targets.fake, n, self.hp["flip"], self.hp["noise"], trainer.device)
