"""EBGAN's margin (Zhao et al. 2017): D's loss on the fakes is the hinge [m - E(G(z))]^+.

With the `energy` loss (D: E(x)) this makes D's objective the paper's
L_D = E(x) + [m - E(G(z))]^+, E = the auto-encoder D's reconstruction energy (-logits).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from gangrid.tricks import DBatch, Trick, register_trick
from gangrid.tricks._energy import require_energy_d

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def margin_term(fake_energy: torch.Tensor, margin: float) -> torch.Tensor:
    """E_z [m - E(G(z))]^+ over a batch of fake energies."""
    return F.relu(margin - fake_energy).mean()


@register_trick("ebgan_margin")
class EbganMargin(Trick):
    """margin: m, the energy above which D stops pushing a fake up (in units of the energy)."""

    defaults = {"margin": 1.0}

    def check(self) -> None:
        self.require(self.hp["margin"] > 0, "margin", "must be > 0")

    def setup(self, trainer: "Trainer") -> None:
        require_energy_d(trainer, self.name)

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        return {"margin": margin_term(-batch.fake_logits.float(), float(self.hp["margin"]))}
