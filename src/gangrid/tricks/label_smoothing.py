"""Label smoothing of the discriminator's targets (Salimans et al. 2016; Szegedy et al. 2016).

One-sided (real 0.9, fake 0) is the recommended form; two-sided uses fake 0.1.
A common bug makes "two-sided" code one-sided (`torch.zeros(n) * 0.1` is 0); here the fake
target really is `fake`.
Only losses with labels (minimax, ns, lsgan) use targets; hinge and Wasserstein ignore them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gangrid.losses import Targets
from gangrid.tricks import Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


@register_trick("label_smoothing")
class LabelSmoothing(Trick):
    """Real samples get target `real`, fake samples target `fake`."""

    defaults = {"real": 0.9, "fake": 0.0}
    order = 40

    def check(self) -> None:
        for key in ("real", "fake"):
            self.require(0.0 <= self.hp[key] <= 1.0, key, "must be in [0, 1]")

    def d_targets(self, trainer: "Trainer", targets: Targets, n: int) -> Targets:
        return Targets(real=float(self.hp["real"]), fake=float(self.hp["fake"]))
