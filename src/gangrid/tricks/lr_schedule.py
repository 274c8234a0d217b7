"""Learning-rate schedules for every optimiser of a run (G's side at train.lr_g, D's at train.lr_d).

kind `step`: lr = base * gamma ** floor(t / (every * steps)) (StepLR with a step size given
as a fraction of training); kind `linear`: lr = base until `start * steps`, then linear
decay to `end * base` at `stop * steps` (default: the last step), held there after it
(CycleGAN: constant for the first half, then to 0 at the end).
t is the generator step. Base rates are train.lr_g / train.lr_d. The rate is a pure
function of the step, written into the optimisers' param groups, which checkpoints hold,
so resumed runs continue the schedule bit-exactly.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from gangrid.tricks import Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer

KINDS = ("step", "linear")


def lr_factor(kind: str, step: int, total: int, every: float = 0.5, gamma: float = 0.1, start: float = 0.5,
              end: float = 0.0, stop: float = 1.0) -> float:
    """Multiplier of the base learning rate at generator step `step` of `total`."""
    if kind == "step":
        return gamma ** math.floor(step / max(1.0, every * total))
    begin = start * total
    if step <= begin:
        return 1.0
    frac = min(1.0, (step - begin) / max(1.0, stop * total - begin))
    return 1.0 + (end - 1.0) * frac


@register_trick("lr_schedule")
class LRSchedule(Trick):
    """kind: step | linear; every/gamma for step; start/stop/end for linear."""

    defaults = {"kind": "linear", "every": 0.5, "gamma": 0.1, "start": 0.5, "end": 0.0, "stop": 1.0}
    order = 95

    def check(self) -> None:
        self.require(self.hp["kind"] in KINDS, "kind", f"must be one of {', '.join(KINDS)}")
        self.require(0 < self.hp["every"] <= 1, "every", "must be in (0, 1] (a fraction of train.steps)")
        self.require(0 < self.hp["gamma"] <= 1, "gamma", "must be in (0, 1]")
        self.require(0 <= self.hp["start"] < 1, "start", "must be in [0, 1)")
        self.require(0 <= self.hp["end"] <= 1, "end", "must be in [0, 1]")
        self.require(self.hp["start"] < self.hp["stop"] <= 1, "stop", "must be in (start, 1]")

    def setup(self, trainer: "Trainer") -> None:
        train = trainer.config["train"]
        self.total = int(train["steps"])
        self.base = {"g": float(train["lr_g"]), "d": float(train["lr_d"])}
        self.apply(trainer, trainer.step)

    def apply(self, trainer: "Trainer", step: int) -> None:
        """Set every optimiser's rate (G's side and D's, `trainer.optimizers()`) for generator step `step`."""
        hp = self.hp
        f = lr_factor(hp["kind"], step, self.total, hp["every"], hp["gamma"], hp["start"], hp["end"], hp["stop"])
        for opt, side in trainer.optimizers():
            for group in opt.param_groups:
                group["lr"] = self.base[side] * f

    def after_g_step(self, trainer: "Trainer") -> None:
        self.apply(trainer, trainer.step + 1)  # the loop increments trainer.step after this hook
