"""WGAN's critic schedule (Arjovsky et al. 2017, Algorithm 1's reference code): the critic takes
`n` (100) steps per generator step for the first `first` (25) generator steps and at every
`every`-th (500) one, `train.n_critic` (5) otherwise, so it stays near optimal while G starts
and is re-trained periodically. Implied by the `wgan` preset. The number is a pure function of
the generator step, so a resumed run continues the schedule exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gangrid.errors import ConfigError
from gangrid.tricks import Trick, register_trick
from gangrid.tricks._checks import run_key

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def critic_steps(g_step: int, base: int, n: int, first: int, every: int) -> int:
    """D steps before G step `g_step` (0-based): `n` while g_step < first or at multiples of `every`, else `base`."""
    return n if g_step < first or g_step % every == 0 else base


@register_trick("critic_schedule")
class CriticSchedule(Trick):
    """n: critic steps at the scheduled G steps (100); first: how many G steps start with n (25);
    every: period of the later n-step rounds (500)."""

    defaults = {"n": 100, "first": 25, "every": 500}

    def check(self) -> None:
        for key in ("n", "every"):
            self.require(isinstance(self.hp[key], int) and self.hp[key] >= 1, key, "must be an integer >= 1")
        self.require(isinstance(self.hp["first"], int) and self.hp["first"] >= 0, "first", "must be an integer >= 0")

    def __init__(self, **hp: Any) -> None:
        super().__init__(**hp)
        self.trainer: "Trainer | None" = None
        self.base = 1

    def setup(self, trainer: "Trainer") -> None:
        if not hasattr(trainer, "n_critic"):
            raise ConfigError(f"{run_key(trainer, 'critic_schedule')}: this trainer takes no critic steps to schedule")
        self.trainer, self.base = trainer, int(trainer.n_critic)
        self.apply(trainer.step)

    def apply(self, g_step: int) -> None:
        """Set the trainer's critic steps for the iteration that makes G step `g_step`."""
        assert self.trainer is not None
        self.trainer.n_critic = critic_steps(g_step, self.base, self.hp["n"], self.hp["first"], self.hp["every"])

    def after_g_step(self, trainer: "Trainer") -> None:
        self.apply(trainer.step + 1)  # the loop increments trainer.step after this hook

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.trainer is not None:  # the trainer's step is restored first
            self.apply(self.trainer.step)
