"""ProGAN's progressive-growing schedule (Karras et al. 2018), implied by the `progan` presets.

The run's `train.steps` are split over the stages 4x4, 8x8, ..., full resolution in
proportion to `stage_weights` (equal by default). Stage 0 trains at 4x4; every later stage
spends its first `fade` fraction fading the new layers in (alpha rising linearly from 0 to
1), then trains them at alpha = 1. Before each step the trick writes (stage, alpha) into the
generator's and discriminator's `progress` buffers (which checkpoints and EMA carry).

During a fade-in the real images D sees are blended between the two resolutions exactly as
G's output is: lerp(up2(avgpool2(x_s)), x_s, alpha), x_s the reals at the stage's resolution
(the paper's Sec. 3 and `process_reals` of its code). They reach D nearest-upsampled to the
full resolution, which D's average pooling undoes exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from gangrid.errors import ConfigError
from gangrid.tricks import Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def schedule(step: int, total: int, n_stages: int, fade: float = 0.5, weights: list[float] | None = None) -> tuple[int, float]:
    """(stage, alpha) at `step` of `total` steps for `n_stages` stages (see the module docstring)."""
    weights = list(weights) if weights else [1.0] * n_stages
    bounds, acc, s = [], 0.0, sum(weights)
    for w in weights:
        acc += w
        bounds.append(total * acc / s)
    stage = next((i for i, b in enumerate(bounds) if step < b), n_stages - 1)
    if stage == 0 or fade <= 0:
        return stage, 1.0
    start = bounds[stage - 1]
    pos = (step - start) / max(bounds[stage] - start, 1e-12)
    return stage, min(1.0, pos / fade)


def fade_reals(x: torch.Tensor, size: int, alpha: float) -> torch.Tensor:
    """Full-resolution images `x` as the stage of resolution `size` sees them during a fade-in:
    lerp(up2(avgpool2(x_s)), x_s, alpha) with x_s = x average-pooled to `size`, nearest-upsampled back."""
    res = x.shape[-1]
    x_s = F.avg_pool2d(x, res // size) if res > size else x
    low = F.interpolate(F.avg_pool2d(x_s, 2), scale_factor=2, mode="nearest")
    out = torch.lerp(low, x_s, alpha)
    return F.interpolate(out, scale_factor=res // size, mode="nearest") if res > size else out


@register_trick("progressive")
class ProgressiveGrowing(Trick):
    """fade: share of each stage (after the first) spent fading in; stage_weights: relative
    stage lengths (one per resolution 4..full; empty = equal)."""

    defaults = {"fade": 0.5, "stage_weights": []}
    order = 5  # before EMA copies G, so every copy starts from the same progress

    def check(self) -> None:
        self.require(0.0 <= self.hp["fade"] <= 1.0, "fade", "must lie in [0, 1]")
        w = self.hp["stage_weights"]
        self.require(isinstance(w, list) and all(isinstance(v, (int, float)) and v > 0 for v in w), "stage_weights",
                     "must be a list of positive numbers (one per stage) or empty")

    def apply(self, trainer: "Trainer", step: int) -> None:
        """Set the nets' (stage, alpha) for training step `step`."""
        stage, alpha = self.stage_at(trainer, step)
        trainer.g.set_progress(stage, alpha)
        trainer.d.set_progress(stage, alpha)

    def stage_at(self, trainer: "Trainer", step: int) -> tuple[int, float]:
        """(stage, alpha) of training step `step`."""
        return schedule(step, int(trainer.config["train"]["steps"]), trainer.g.n_stages, self.hp["fade"], self.hp["stage_weights"])

    def d_inputs(self, trainer: "Trainer", real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        stage, alpha = self.stage_at(trainer, trainer.step)  # what `apply` wrote for this step (no host sync)
        if stage == 0 or alpha >= 1.0 or real.dim() != 4:
            return real, fake
        return fade_reals(real, 4 * 2**stage, alpha), fake

    def setup(self, trainer: "Trainer") -> None:
        run = trainer.config["run"]["name"]
        if not all(callable(getattr(net, "set_progress", None)) for net in (trainer.g, trainer.d)):
            raise ConfigError(f"tricks of run {run}: progressive needs a progressive architecture (family progan), "
                              f"got family '{trainer.config['arch'].get('family')}'")
        n = trainer.g.n_stages
        if self.hp["stage_weights"] and len(self.hp["stage_weights"]) != n:
            raise ConfigError(f"tricks of run {run}: progressive.stage_weights has {len(self.hp['stage_weights'])} "
                              f"entries but the architecture has {n} stages (4x4 .. {trainer.data.shape[-1]}x{trainer.data.shape[-1]})")
        self.apply(trainer, trainer.step)

    def after_g_step(self, trainer: "Trainer") -> None:
        self.apply(trainer, trainer.step + 1)  # the loop increments trainer.step after this hook
