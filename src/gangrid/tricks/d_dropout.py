"""Dropout in the discriminator (p 0.3-0.5; Salimans et al. 2016 use 0.5): families add nn.Dropout(p) after
each hidden block of D when their preset carries `dropout: p`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch import nn

from gangrid.tricks import Trick, register_trick
from gangrid.tricks._checks import require_module

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


@register_trick("d_dropout")
class DDropout(Trick):
    """p: drop probability."""

    defaults = {"p": 0.3}

    def check(self) -> None:
        self.require(0 < self.hp["p"] < 1, "p", "must be in (0, 1)")

    def arch_overrides(self) -> dict[str, Any]:
        return {"dropout": self.hp["p"]}

    def setup(self, trainer: "Trainer") -> None:
        require_module(trainer, nn.modules.dropout._DropoutNd, "d_dropout", "dropout")
