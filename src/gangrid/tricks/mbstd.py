"""Minibatch standard deviation (Karras et al. 2018, ProGAN): D's last block gets one extra
channel/feature, the mean over features of the per-group std (group size 4, eps 1e-8),
so D can see a lack of diversity. The layer is `nets.common.MinibatchStdDev`; families
place it when their preset carries `mbstd: <group size>`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gangrid.nets.common import MinibatchStdDev
from gangrid.tricks import Trick, register_trick
from gangrid.tricks._checks import require_module

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


@register_trick("mbstd")
class MinibatchStd(Trick):
    """group: samples per statistics group (4 in ProGAN)."""

    defaults = {"group": 4}

    def check(self) -> None:
        self.require(isinstance(self.hp["group"], int) and self.hp["group"] >= 2, "group", "must be an integer >= 2")

    def arch_overrides(self) -> dict[str, Any]:
        return {"mbstd": self.hp["group"]}

    def setup(self, trainer: "Trainer") -> None:
        require_module(trainer, MinibatchStdDev, "mbstd", "mbstd")
