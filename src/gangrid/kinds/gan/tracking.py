"""In-training metrics of GAN runs: the cheap metrics of the data kind on a fixed-noise sample.

2-D mixtures: modes captured, high-quality %, mode KL (the PacGAN / VEEGAN protocol);
images: FID, KID, precision/recall/density/coverage on the domain classifier's features.
Both against a fixed subset of the held-out test split of n = min(eval.track.n, test size)
samples, with n generated samples: the same functions, sizes and names as the evaluate
stage, so the last evaluation of a run equals the evaluate stage's score of the same samples.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from gangrid.data.store import load_split, read_manifest
from gangrid.kinds.gan.evaluation import subsample
from gangrid.kinds.gan.sampling import generate
from gangrid.metrics import EvalContext, all_measures, applies, compute_metrics, get_metric, rounded
from gangrid.metrics.extractors import classifier_extractor
from gangrid.training.base import Trainer
from gangrid.training.tracking import Tracker, TrackSettings


class GanTracker(Tracker):
    """Scores a GAN's current sampling generator against a fixed real subset (features computed once)."""

    def __init__(self, settings: TrackSettings, dataset: str) -> None:
        super().__init__(settings)
        manifest = read_manifest(dataset)
        self.kind = manifest["kind"]
        real = subsample(load_split(dataset, "test").x, settings.n, settings.seed + 1)
        self.n = len(real)
        extractor = classifier_extractor(dataset)
        meta = manifest.get("meta", {})
        self.metrics = [m for m in settings.metrics_for(self.kind) if applies(get_metric(m, "eval.track.metrics"), self.kind)]
        cfg = {"sample_seed": settings.seed, **settings.protocol}
        self.base = EvalContext(kind=self.kind, fake=real[:0], real=real, cfg=cfg, extractor=extractor,
                                extractor_name="clf", meta=meta, n_classes=int(meta.get("classes", 0)), n=self.n)
        self.real_out = extractor(real) if extractor is not None else None
        stem = settings.primary.get(self.kind, "")
        measure = all_measures().get(stem)
        self.metric = measure.name(self.n, "clf") if measure is not None else ""

    @property
    def usable(self) -> bool:
        """False when the data has no feature extractor (an unlabelled image set): nothing to track cheaply."""
        return self.base.extractor is not None and bool(self.metrics)

    def samples(self, trainer: Trainer) -> np.ndarray:
        """The fixed-noise sample the tracker scores (n samples from `eval.track.seed`)."""
        x, _ = generate(trainer.sampling_generator(), trainer.data, int(trainer.config["train"]["z_dim"]), self.n,
                        self.settings.seed, trainer.device)
        return x

    def score(self, fake: np.ndarray) -> dict[str, float]:
        """The tracked metrics of `fake` against the fixed real subset (rounded like metrics.json)."""
        ctx = dataclasses.replace(self.base, fake=fake)
        ctx.__dict__["real_out"] = self.real_out  # the real features, computed once per run
        return rounded(compute_metrics(ctx, self.metrics))

    def evaluate(self, trainer: Trainer) -> dict[str, float]:
        """The tracked metrics of the trainer's current generator."""
        return self.score(self.samples(trainer))


def gan_tracker(config: dict[str, Any], kind: type[GanTracker] = GanTracker) -> GanTracker | None:
    """The tracker of a GAN run, a `kind` (GanTracker or a subclass: the encoder kind's); None when `eval.every`
    is 0 or the data has nothing cheap to track."""
    settings = TrackSettings.from_config(config)
    if settings.every <= 0:
        return None
    tracker = kind(settings, config["run"]["dataset"])
    return tracker if tracker.usable else None
