"""Historical averaging (Salimans et al. 2016): each player's loss gets the term

  weight * ||theta - (1/t) sum_{i=1}^{t} theta[i]||^2,

theta[i] = the player's parameters after its i-th update (theta[1] = the initial ones), so the
term is 0 at the first step and pulls the parameters back towards their running mean, damping
the oscillations of gradient descent on a game. Applied to D (`d`) and G (`g`), both by default;
the running means are updated after every optimiser step of their player (checkpointed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gangrid.tricks import DBatch, GBatch, Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def trainable(module: nn.Module) -> list[torch.Tensor]:
    """The parameters of `module` that receive gradients."""
    return [p for p in module.parameters() if p.requires_grad]


def distance_to_mean(params: list[torch.Tensor], means: list[torch.Tensor]) -> torch.Tensor:
    """sum over every parameter of ||theta - mean||^2."""
    return torch.stack([(p.float() - m.float()).pow(2).sum() for p, m in zip(params, means)]).sum()


@torch.no_grad()
def update_mean(means: list[torch.Tensor], params: list[torch.Tensor], count: int) -> None:
    """Running mean of `count` values -> of count + 1: mean += (theta - mean) / (count + 1)."""
    torch._foreach_lerp_(means, [p.detach() for p in params], 1.0 / (count + 1))


@register_trick("historical_averaging")
class HistoricalAveraging(Trick):
    """weight: of the squared distance to the running mean; d / g: apply it to D / G."""

    defaults = {"weight": 1.0, "d": True, "g": True}

    def __init__(self, **hp: Any) -> None:
        super().__init__(**hp)
        self.means: dict[str, list[torch.Tensor]] = {}
        self.counts: dict[str, int] = {}
        self.params: dict[str, list[torch.Tensor]] = {}

    def check(self) -> None:
        self.require(self.hp["weight"] >= 0, "weight", "must be >= 0")
        for side in ("d", "g"):
            self.require(isinstance(self.hp[side], bool), side, "must be true or false")

    def setup(self, trainer: "Trainer") -> None:
        for side, net in (("d", trainer.d), ("g", trainer.g)):
            if self.hp[side]:
                self.params[side] = trainable(net)
                self.means[side] = [p.detach().clone() for p in self.params[side]]
                self.counts[side] = 1

    def _term(self, side: str) -> dict[str, torch.Tensor]:
        if side not in self.params:
            return {}
        return {"ha": self.hp["weight"] * distance_to_mean(self.params[side], self.means[side])}

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        return self._term("d")

    def g_penalties(self, trainer: "Trainer", batch: GBatch) -> dict[str, torch.Tensor]:
        return self._term("g")

    def _update(self, side: str) -> None:
        if side in self.params:
            update_mean(self.means[side], self.params[side], self.counts[side])
            self.counts[side] += 1

    def after_d_step(self, trainer: "Trainer") -> None:
        self._update("d")

    def after_g_step(self, trainer: "Trainer") -> None:
        self._update("g")

    def state_dict(self) -> dict[str, Any]:
        return {"means": {k: [m.clone() for m in v] for k, v in self.means.items()}, "counts": dict(self.counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for side, means in (state.get("means") or {}).items():
            if side in self.means:
                for target, value in zip(self.means[side], means):
                    target.copy_(value)
                self.counts[side] = int(state["counts"][side])
