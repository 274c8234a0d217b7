"""In-training metrics of SR runs: sr_psnr (its curve decides convergence: eval.track.primary.superres), sr_ssim and
the image metrics of eval.track.metrics (FID, ...) of a fixed subset of n = min(eval.track.n, test size) test inputs
(seed eval.track.seed + 1), scored as the evaluate stage scores them."""

from __future__ import annotations

from typing import Any

from gangrid.kinds.superres.evaluate import feature_metrics, score, sr_test_set
from gangrid.kinds.superres.sample import super_resolve
from gangrid.metrics import all_measures
from gangrid.metrics.extractors import classifier_extractor
from gangrid.runtime import seeded_torch
from gangrid.training.base import Trainer
from gangrid.training.tracking import Tracker, TrackSettings


class SuperResTracker(Tracker):
    """Super-resolves the fixed test inputs with the current generator and scores them."""

    def __init__(self, settings: TrackSettings, dataset: str) -> None:
        super().__init__(settings)
        self.dataset = dataset
        self.test = sr_test_set(dataset, settings.n, settings.seed + 1)
        self.names = feature_metrics(list(settings.metrics_for("superres")))
        self.extractor = classifier_extractor(dataset)
        self.cfg = {"sample_seed": settings.seed, **settings.protocol}
        measure = all_measures().get(settings.primary.get("superres", "sr_psnr"))
        self.metric = measure.name(len(self.test.hr), "clf") if measure is not None else ""

    def evaluate(self, trainer: Trainer) -> dict[str, float]:
        """The tracked metrics of the current generator's SR outputs."""
        with seeded_torch(self.settings.seed, trainer.device):
            sr = super_resolve(trainer.sampling_generator(), self.test.lr, trainer.device)
        values, _ = score(self.cfg, self.dataset, sr, self.test.hr, self.names, self.extractor)
        return values


def superres_tracker(config: dict[str, Any]) -> SuperResTracker | None:
    """The tracker of an SR run (None when `eval.every` is 0)."""
    settings = TrackSettings.from_config(config)
    return SuperResTracker(settings, config["run"]["dataset"]) if settings.every > 0 else None
