"""Unrolled GAN (Metz et al. 2017): G is updated against D after k look-ahead D steps; D's
weights, buffers and optimiser state are then restored bit-exactly, so the look-ahead
leaves no trace on D's own trajectory.

This is the first-order variant used by most reimplementations: G's gradient is taken
through the unrolled D's weights, not through the k updates themselves (the paper's
second-order term). The look-ahead steps are ordinary D steps (`Trainer.d_step`): they draw
their own real batches and fresh fakes and run the other tricks' D hooks (penalties,
clipping), so the unrolled D is the one the next real updates would produce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gangrid.tricks import Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


class Snapshot:
    """A copy of a module's parameters and buffers and of its optimiser's state."""

    def __init__(self, module: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.tensors = list(module.parameters()) + list(module.buffers())
        with torch.no_grad():
            self.saved = [t.detach().clone() for t in self.tensors]
        self.optimizer = optimizer
        self.opt_state = {
            p: {k: (v.clone() if torch.is_tensor(v) else v) for k, v in s.items()} for p, s in optimizer.state.items()
        }

    @torch.no_grad()
    def restore(self) -> None:
        """Put back the saved values in place (same tensors, bit-exact) and the optimiser state."""
        torch._foreach_copy_(self.tensors, self.saved)
        self.optimizer.state.clear()
        self.optimizer.state.update(self.opt_state)


@register_trick("unrolled")
class Unrolled(Trick):
    """k: look-ahead D steps before each G step (5 in the paper)."""

    defaults = {"k": 5}
    order = 70

    def __init__(self, **hp: Any) -> None:
        super().__init__(**hp)
        self.snapshot: Snapshot | None = None

    def check(self) -> None:
        self.require(isinstance(self.hp["k"], int) and self.hp["k"] >= 1, "k", "must be an integer >= 1")

    def before_g_step(self, trainer: "Trainer") -> None:
        self.snapshot = Snapshot(trainer.d, trainer.opt_d)
        for _ in range(self.hp["k"]):
            trainer.d_step()

    def after_g_step(self, trainer: "Trainer") -> None:
        if self.snapshot is not None:
            self.snapshot.restore()
            self.snapshot = None
