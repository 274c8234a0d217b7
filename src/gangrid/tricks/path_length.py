"""StyleGAN2's path-length regularisation (Karras et al. 2020), lazily every `every` G steps:

  L_pl = weight * every * E_{w, y} ( ||J_w^T y||_2 - a )^2,   y ~ N(0, I) / sqrt(H W),

J_w = the Jacobian of the synthesis network at the styles w = f(z) (one w per layer, the
norm averaged over layers as in the paper's code), a = a moving average of the lengths (decay
`decay` = 0.01), on a batch `batch_shrink` times smaller than the training batch (2 in the paper).
It asks a fixed-size step in w to change the image by a fixed amount in every direction, which
makes the generator smoother and easier to invert. On the steps between regularisations the term
is 0 (logged as `g_pl`). `a` and the step count are checkpointed. Needs a style-based generator
(families stylegan, stylegan2).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from gangrid.errors import ConfigError
from gangrid.tricks import GBatch, Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def path_lengths(images: torch.Tensor, ws: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Per sample sqrt(mean over layers of ||(J_w^T y)_layer||^2), y = noise / sqrt(H W); `ws` must require grad."""
    y = noise / math.sqrt(images.shape[2] * images.shape[3])
    (grad,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)
    return grad.pow(2).sum(2).mean(1).sqrt()


def path_penalty(lengths: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """E (length - a)^2."""
    return (lengths - mean).pow(2).mean()


@register_trick("path_length")
class PathLength(Trick):
    """weight: of the penalty (2 in the paper); every: lazy interval in G steps (4); decay: of the moving
    average a (0.01); batch_shrink: the regularisation batch is batch_size / batch_shrink (2)."""

    defaults = {"weight": 2.0, "every": 4, "decay": 0.01, "batch_shrink": 2}

    def __init__(self, **hp: Any) -> None:
        super().__init__(**hp)
        self.count = 0
        self.mean = torch.zeros(())

    def check(self) -> None:
        self.require(self.hp["weight"] >= 0, "weight", "must be >= 0")
        self.require(isinstance(self.hp["every"], int) and self.hp["every"] >= 1, "every", "must be an integer >= 1")
        self.require(0.0 < self.hp["decay"] <= 1.0, "decay", "must lie in (0, 1]")
        self.require(isinstance(self.hp["batch_shrink"], int) and self.hp["batch_shrink"] >= 1, "batch_shrink",
                     "must be an integer >= 1")

    def setup(self, trainer: "Trainer") -> None:
        if not all(hasattr(trainer.g, a) for a in ("mapping", "synthesize", "n_layers")):
            raise ConfigError(f"tricks of run {trainer.config['run']['name']}: path_length needs a style-based generator "
                              f"(family stylegan or stylegan2), got family '{trainer.config['arch'].get('family')}'")
        self.mean = self.mean.to(trainer.device)

    def g_penalties(self, trainer: "Trainer", batch: GBatch) -> dict[str, torch.Tensor]:
        active = self.count % int(self.hp["every"]) == 0
        self.count += 1
        if not active:
            return {"pl": torch.zeros((), device=batch.z.device)}
        g = trainer.g
        z = batch.z[: max(1, len(batch.z) // int(self.hp["batch_shrink"]))]
        ws = g.mapping(z).unsqueeze(1).repeat(1, g.n_layers, 1)
        images = g.synthesize(ws)
        lengths = path_lengths(images, ws, torch.randn_like(images))
        self.mean = self.mean.lerp(lengths.detach().mean(), float(self.hp["decay"]))
        return {"pl": float(self.hp["weight"]) * int(self.hp["every"]) * path_penalty(lengths, self.mean)}

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean.detach().clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "mean" in state:
            self.count = int(state["count"])
            self.mean = state["mean"].to(self.mean.device).clone()
