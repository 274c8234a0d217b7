"""EBGAN's pulling-away term (Zhao et al. 2017), a repelling regulariser on G's batch:

  f_PT(S) = 1 / (N (N - 1)) sum_i sum_{j != i} (S_i . S_j / (||S_i|| ||S_j||))^2,

S = the auto-encoder D's codes of the N generated images (`DOut.features`), added to G's loss
with weight lambda_PT (0.1 in the paper): it pushes the codes of a batch towards orthogonality,
against mode collapse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from gangrid.tricks import GBatch, Trick, register_trick
from gangrid.tricks._energy import require_energy_d

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def pulling_away(codes: torch.Tensor) -> torch.Tensor:
    """f_PT of a (N, F) batch of codes: the mean squared cosine similarity over ordered pairs i != j."""
    s = F.normalize(codes.flatten(1).float(), dim=1)
    n = s.shape[0]
    cos2 = (s @ s.t()).pow(2)
    return (cos2.sum() - cos2.diagonal().sum()) / (n * (n - 1))


@register_trick("pulling_away")
class PullingAway(Trick):
    """weight: lambda_PT."""

    defaults = {"weight": 0.1}

    def check(self) -> None:
        self.require(self.hp["weight"] >= 0, "weight", "must be >= 0")

    def setup(self, trainer: "Trainer") -> None:
        require_energy_d(trainer, self.name)

    def g_penalties(self, trainer: "Trainer", batch: GBatch) -> dict[str, torch.Tensor]:
        return {"pt": self.hp["weight"] * pulling_away(batch.fake_features)}
