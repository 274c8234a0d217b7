"""AC-GAN's auxiliary classification loss (Odena et al. 2017), implied by the `acgan` presets.

D minimises weight * [CE(C(x), y) + CE(C(G(z, c)), c)] besides its adversarial loss; G
minimises weight * CE(C(G(z, c)), c). C is the discriminator's `class_logits` head on the
features it returned for the same inputs (no extra forward pass). `fake_in_d: false` drops
the fake term from D's loss (classifying only real images, as some follow-ups do).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from gangrid.errors import ConfigError
from gangrid.tricks import DBatch, GBatch, Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def require_classifier_head(trainer: "Trainer", trick: str) -> None:
    """ConfigError unless the data is labelled and D has a `class_logits(features)` head."""
    if not trainer.data.n_classes:
        raise ConfigError(f"trick '{trick}' needs a labelled dataset (run {trainer.config['run']['name']})")
    if not callable(getattr(trainer.d, "class_logits", None)):
        raise ConfigError(f"trick '{trick}' needs a discriminator with a class head (family acgan or semisup), "
                          f"got arch '{trainer.config['arch']['name']}' (family {trainer.config['arch']['family']})")


@register_trick("acgan_aux")
class ACGANAux(Trick):
    """Auxiliary-classifier cross-entropy for D (real and fake) and G (fake)."""

    defaults = {"weight": 1.0, "fake_in_d": True}
    uses_sample_info = True  # pairs features with y_real / y_fake: replay / PacGAN refuse to run alongside

    def check(self) -> None:
        self.require(self.hp["weight"] >= 0, "weight", "must be >= 0")
        self.require(isinstance(self.hp["fake_in_d"], bool), "fake_in_d", "must be true or false")

    def setup(self, trainer: "Trainer") -> None:
        require_classifier_head(trainer, self.name)

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        head = trainer.d.class_logits
        loss = F.cross_entropy(head(batch.real_features), batch.y_real)
        if self.hp["fake_in_d"]:
            loss = loss + F.cross_entropy(head(batch.fake_features), batch.y_fake)
        return {"aux": self.hp["weight"] * loss}

    def g_penalties(self, trainer: "Trainer", batch: GBatch) -> dict[str, torch.Tensor]:
        return {"aux": self.hp["weight"] * F.cross_entropy(trainer.d.class_logits(batch.fake_features), batch.y_fake)}
