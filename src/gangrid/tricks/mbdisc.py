"""Minibatch discrimination (Salimans et al. 2016): D's last block gets, per sample, B
features o_b(x_i) = sum_{j != i} exp(-||M_i,b - M_j,b||_1) with M = f(x) T (T learned,
B kernels of C dims), so D can compare samples within a batch. The layer is
`nets.common.MinibatchDiscrimination`; families place it for `mbdisc: {kernels, dim}`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gangrid.nets.common import MinibatchDiscrimination
from gangrid.tricks import Trick, register_trick
from gangrid.tricks._checks import require_module

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


@register_trick("mbdisc")
class MinibatchDisc(Trick):
    """kernels: B (100 in the paper's code); dim: C, dimensions per kernel (5)."""

    defaults = {"kernels": 50, "dim": 5}

    def check(self) -> None:
        for key in ("kernels", "dim"):
            self.require(isinstance(self.hp[key], int) and self.hp[key] >= 1, key, "must be an integer >= 1")

    def arch_overrides(self) -> dict[str, Any]:
        return {"mbdisc": {"kernels": self.hp["kernels"], "dim": self.hp["dim"]}}

    def setup(self, trainer: "Trainer") -> None:
        require_module(trainer, MinibatchDiscrimination, "mbdisc", "mbdisc")
