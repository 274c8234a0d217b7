"""Feature matching (Salimans et al. 2016): G's loss is weight * ||E f(x) - E f(G(z))||_2^2,
f = D's penultimate features (`DOut.features`).

`mode: replace` (the default) is the paper's form: the term REPLACES G's adversarial loss, in
their feature-matching GAN and in their semi-supervised GAN alike (D still trains on the loss
preset's objective). `mode: add` adds it to the adversarial loss instead (a common variant).
The real statistics use the current D (the one G is trained against): the real inputs
of the last D step (after every input transform, so packing/augmentation match the fakes)
are passed through D again, without grad, in the G step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from gangrid.tricks import DBatch, GBatch, Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


MODES = ("replace", "add")


def feature_matching(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """||mean_real - mean_fake||_2^2 of two (B, F) feature batches."""
    return (real_features.mean(0) - fake_features.mean(0)).pow(2).sum()


@register_trick("feature_matching")
class FeatureMatching(Trick):
    """weight: multiplier of the term; mode: replace (G's loss is the term, the paper) | add."""

    defaults = {"weight": 1.0, "mode": "replace"}

    def __init__(self, **hp: Any) -> None:
        super().__init__(**hp)
        self.real: torch.Tensor | None = None
        self.y_real: torch.Tensor | None = None

    def check(self) -> None:
        self.require(self.hp["weight"] >= 0, "weight", "must be >= 0")
        self.require(self.hp["mode"] in MODES, "mode", f"must be one of {', '.join(MODES)}")

    @property
    def replaces_g_loss(self) -> bool:  # type: ignore[override]
        return self.hp["mode"] == "replace"

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        self.real, self.y_real = batch.real.detach(), batch.y_real
        return {}

    def g_penalties(self, trainer: "Trainer", batch: GBatch) -> dict[str, torch.Tensor]:
        assert self.real is not None, "a D step precedes every G step"
        with torch.no_grad():
            real_features = trainer.d(self.real, self.y_real).features
        return {"fm": self.hp["weight"] * feature_matching(real_features, batch.fake_features)}
