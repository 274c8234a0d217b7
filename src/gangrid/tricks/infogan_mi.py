"""InfoGAN's mutual-information term (Chen et al. 2016), implied by the `infogan` presets.

L_I = CE(categorical codes) + cont_weight * Gaussian NLL(continuous codes) of Q(c | x) on the
generated batch. D (whose body Q shares) minimises weight * L_I in its step, on the fakes it
judged (their codes come from `DBatch.extras["z"]`); G minimises weight * L_I through the
frozen D/Q in its step. The authors' MNIST setting is weight 1 for both kinds of code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gangrid.errors import ConfigError
from gangrid.nets.infogan import mutual_information_loss
from gangrid.tricks import DBatch, GBatch, Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer

@register_trick("infogan_mi")
class InfoGANMI(Trick):
    """weight: lambda of L_I; cont_weight: extra factor on the continuous codes' NLL."""

    defaults = {"weight": 1.0, "cont_weight": 1.0}
    uses_sample_info = True  # pairs each fake with its codes: replay / PacGAN refuse to run alongside

    def check(self) -> None:
        self.require(self.hp["weight"] >= 0, "weight", "must be >= 0")
        self.require(self.hp["cont_weight"] >= 0, "cont_weight", "must be >= 0")

    def setup(self, trainer: "Trainer") -> None:
        run = trainer.config["run"]["name"]
        if not callable(getattr(trainer.d, "info_head", None)) or not callable(getattr(trainer.g, "split_codes", None)):
            raise ConfigError(f"tricks of run {run}: infogan_mi needs an InfoGAN architecture (family infogan), "
                              f"got family '{trainer.config['arch'].get('family')}'")

    def loss(self, trainer: "Trainer", features: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """weight * L_I of the features D computed for the fakes generated from z."""
        codes = trainer.g.split_codes(z)
        return self.hp["weight"] * mutual_information_loss(trainer.d.info_head(features), codes, self.hp["cont_weight"])

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        return {"mi": self.loss(trainer, batch.fake_features, batch.extras["z"])}

    def g_penalties(self, trainer: "Trainer", batch: GBatch) -> dict[str, torch.Tensor]:
        return {"mi": self.loss(trainer, batch.fake_features, batch.z)}
