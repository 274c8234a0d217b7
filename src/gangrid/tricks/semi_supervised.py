"""The supervised term of the semi-supervised GAN (Salimans et al. 2016), implied by the `semisup` presets.

A fixed, class-balanced subset of `labelled` training examples (drawn once from the run's
seed) keeps its labels; every other training example is used without its label (by the
adversarial loss only). Each D step adds weight * CE(D's K real-class logits, y) on a batch
drawn (with replacement, from the global torch RNG) from the labelled subset. The subset is
part of the checkpoint, so a resumed run continues identically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from gangrid.data.store import to_model
from gangrid.errors import ConfigError
from gangrid.tricks import DBatch, Trick, register_trick
from gangrid.tricks.acgan_aux import require_classifier_head

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def balanced_subset(y: torch.Tensor, n: int, n_classes: int, seed: int) -> torch.Tensor:
    """Indices of `n` examples, n // K per class (the remainder to the first classes), chosen
    by a seeded permutation; fewer if a class has too few examples."""
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(y), generator=gen)
    y_perm = y.cpu()[perm]
    picked = []
    for k in range(n_classes):
        quota = n // n_classes + (1 if k < n % n_classes else 0)
        picked.append(perm[y_perm == k][:quota])
    return torch.sort(torch.cat(picked)).values


@register_trick("semi_supervised")
class SemiSupervised(Trick):
    """Cross-entropy of D's classifier on a labelled batch at each D step."""

    defaults = {"labelled": 100, "weight": 1.0, "batch_size": 0}

    def __init__(self, **hp: Any) -> None:
        super().__init__(**hp)
        self.idx: torch.Tensor | None = None

    def check(self) -> None:
        self.require(isinstance(self.hp["labelled"], int) and self.hp["labelled"] >= 1, "labelled", "must be an integer >= 1")
        self.require(isinstance(self.hp["batch_size"], int) and self.hp["batch_size"] >= 0, "batch_size", "must be an integer >= 0 (0: the training batch size)")
        self.require(self.hp["weight"] >= 0, "weight", "must be >= 0")

    def setup(self, trainer: "Trainer") -> None:
        require_classifier_head(trainer, self.name)

    def labelled_batch(self, trainer: "Trainer") -> tuple[torch.Tensor, torch.Tensor]:
        """A batch (model-space x, y) drawn with replacement from the labelled subset."""
        sampler = trainer.sampler
        if sampler is None or sampler.y is None:
            raise ConfigError(f"trick '{self.name}' needs labelled training data (run {trainer.config['run']['name']})")
        if self.idx is None:
            self.idx = balanced_subset(sampler.y, int(self.hp["labelled"]), trainer.data.n_classes, int(trainer.config.get("seed", 0)))
        n = int(self.hp["batch_size"]) or trainer.batch_size
        pick = self.idx[torch.randint(len(self.idx), (n,))].to(sampler.x.device)
        return to_model(sampler.x[pick]), sampler.y[pick].long()

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        x, y = self.labelled_batch(trainer)
        logits = trainer.d.class_logits(trainer.d(x).features)
        return {"sup": self.hp["weight"] * F.cross_entropy(logits, y)}

    def state_dict(self) -> dict[str, Any]:
        return {"idx": self.idx} if self.idx is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "idx" in state:
            self.idx = state["idx"]
