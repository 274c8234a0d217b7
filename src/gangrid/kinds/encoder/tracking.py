"""In-training metrics of encoder runs: the GAN tracker's metrics of decoded prior samples (FID, KID, PRDC on
the classifier's features; `eval.track.primary.image` decides convergence) plus `recon_mse`, the
reconstruction error G(E(x)) of the same fixed test subset (gangrid.metrics.encoders: equal to the
evaluate stage's value when the subset is the whole test split, as for digits)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gangrid.data.store import load_split
from gangrid.kinds.gan.evaluation import subsample
from gangrid.kinds.gan.tracking import GanTracker, gan_tracker
from gangrid.metrics import rounded
from gangrid.metrics.encoders import reconstruction_mse
from gangrid.runtime import seeded_torch
from gangrid.training.base import Trainer
from gangrid.training.tracking import TrackSettings


class EncoderTracker(GanTracker):
    """GanTracker + the reconstruction error of a fixed test subset."""

    def __init__(self, settings: TrackSettings, dataset: str) -> None:
        super().__init__(settings, dataset)
        self.test = subsample(load_split(dataset, "test").x, settings.n, settings.seed + 1)

    def evaluate(self, trainer: Trainer) -> dict[str, float]:
        """The GAN metrics of the current decoder's samples and its test reconstruction error."""
        out = super().evaluate(trainer)
        with seeded_torch(self.settings.seed, trainer.device):
            out.update(rounded({"recon_mse": reconstruction_mse(trainer.sampling_generator(), np.asarray(self.test), trainer.device)}))
        return out


def encoder_tracker(config: dict[str, Any]) -> EncoderTracker | None:
    """The tracker of an encoder run (None when `eval.every` is 0 or the data has nothing cheap to track)."""
    return gan_tracker(config, EncoderTracker)  # type: ignore[return-value]
