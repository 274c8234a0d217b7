"""Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017): Gaussian noise on every
input of D, real and fake, in the D and the G step, annealed linearly to 0.

sigma(t) = sigma * max(0, 1 - t / (anneal * steps)), t = the generator step. The
schedule is a pure function of the trainer's step, which checkpoints hold, so a
resumed run continues it bit-exactly; once sigma reaches 0 the trick does no work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from gangrid.tricks import Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def annealed_sigma(sigma: float, step: int, total: int, anneal: float) -> float:
    """Linear annealing from `sigma` at step 0 to 0 at step `anneal * total` (constant if anneal is 0)."""
    if anneal <= 0:
        return sigma
    return sigma * max(0.0, 1.0 - step / (anneal * total))


@register_trick("instance_noise")
class InstanceNoise(Trick):
    """sigma: initial std of the noise (data units); anneal: fraction of training until it is 0."""

    defaults = {"sigma": 0.1, "anneal": 1.0}
    order = 30  # after augmentation, before packing

    def check(self) -> None:
        self.require(self.hp["sigma"] >= 0, "sigma", "must be >= 0")
        self.require(0 <= self.hp["anneal"] <= 1, "anneal", "must be in [0, 1] (0 = no annealing)")

    def sigma(self, trainer: "Trainer") -> float:
        """The noise std at the trainer's current step."""
        return annealed_sigma(self.hp["sigma"], trainer.step, int(trainer.config["train"]["steps"]), self.hp["anneal"])

    def d_inputs(self, trainer: "Trainer", real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.sigma(trainer)
        if s == 0:
            return real, fake
        return real + s * torch.randn_like(real), fake + s * torch.randn_like(fake)

    def g_inputs(self, trainer: "Trainer", fake: torch.Tensor) -> torch.Tensor:
        s = self.sigma(trainer)
        return fake if s == 0 else fake + s * torch.randn_like(fake)

    def state_dict(self) -> dict[str, Any]:
        return {}  # stateless: sigma is a function of trainer.step
