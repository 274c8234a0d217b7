"""Exponential moving average of the generator's weights, used for sampling (Karras et al. 2018;
Yazici et al. 2019): G_ema <- decay * G_ema + (1 - decay) * G after every G step.

`decay` is the fraction KEPT (0.999: standard practice, e.g. Karras et al. 2018). That is the
Keras/TF convention for BatchNorm `momentum` (0.99 = keep 99%); PyTorch's BatchNorm
`momentum` is the opposite, the weight of the NEW value (0.1 = keep 90%). G's BatchNorm
running statistics are copied into G_ema, not averaged.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gangrid.tricks import Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


@torch.no_grad()
def ema_update(target: nn.Module, source: nn.Module, decay: float) -> None:
    """target <- decay * target + (1 - decay) * source for parameters; buffers are copied."""
    t_params = [p for p in target.parameters()]
    s_params = [p.detach() for p in source.parameters()]
    torch._foreach_lerp_(t_params, s_params, 1.0 - decay)
    for tb, sb in zip(target.buffers(), source.buffers()):
        tb.copy_(sb)


def ema_decay(decay: float, since_start: int, warmup: bool) -> float:
    """The decay of one EMA update `since_start` steps after averaging starts (0 before it: G is copied)."""
    if since_start < 0:
        return 0.0
    return min(decay, (1 + since_start) / (10 + since_start)) if warmup else decay


@register_trick("ema")
class EMA(Trick):
    """Keeps G_ema; starts averaging after `start` steps (copying G until then). With `warmup`, the decay
    t steps after the start is min(decay, (1 + t) / (10 + t)) (TensorFlow's ExponentialMovingAverage with
    num_updates), so a short run's average is not dominated by the weights it started from."""

    defaults = {"decay": 0.999, "start": 0, "warmup": False}
    order = 90

    def check(self) -> None:
        self.require(0 <= self.hp["decay"] < 1, "decay", "must be in [0, 1)")
        self.require(isinstance(self.hp["start"], int) and self.hp["start"] >= 0, "start", "must be an integer >= 0")
        self.require(isinstance(self.hp["warmup"], bool), "warmup", "must be true or false")

    def __init__(self, **hp: Any) -> None:
        super().__init__(**hp)
        self.g_ema: nn.Module | None = None

    def setup(self, trainer: "Trainer") -> None:
        self.g_ema = copy.deepcopy(trainer.g).eval().requires_grad_(False)

    def after_g_step(self, trainer: "Trainer") -> None:
        ema_update(self.g_ema, trainer.g, ema_decay(self.hp["decay"], trainer.step - self.hp["start"], self.hp["warmup"]))

    def sampling_generator(self, g: nn.Module) -> nn.Module:
        return self.g_ema if self.g_ema is not None else g

    def state_dict(self) -> dict[str, Any]:
        return {"g_ema": self.g_ema.state_dict()} if self.g_ema is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state and self.g_ema is not None:
            self.g_ema.load_state_dict(state["g_ema"])
