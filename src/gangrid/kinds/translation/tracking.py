"""In-training metrics of translation runs: translate a fixed subset of the test inputs and score it like
the evaluate stage does (L1 / PSNR / SSIM to the paired targets, FID and KID of the translations on the
classifier's features, cycle error and target-class accuracy), with eval.track's n, seed and metrics."""

from __future__ import annotations

from typing import Any

from gangrid.kinds.translation.data import test_set
from gangrid.kinds.translation.evaluate import evaluate_translations, feature_metrics
from gangrid.kinds.translation.sample import translate_test_set
from gangrid.metrics import all_measures
from gangrid.training.base import Trainer
from gangrid.training.tracking import Tracker, TrackSettings


class TranslationTracker(Tracker):
    """Scores a translation run's current generators on a fixed subset of its test inputs."""

    def __init__(self, settings: TrackSettings, dataset: str) -> None:
        super().__init__(settings)
        self.dataset = dataset
        self.params = {"eval": {**settings.protocol, "n_samples": settings.n, "sample_seed": settings.seed,
                                "metrics": list(settings.metrics), "extractor": "classifier"}}
        t = test_set(self.params, dataset)
        self.n = len(t.a)
        stem = settings.primary.get("paired" if t.paired else "unpaired", "")
        measure = all_measures().get(stem)
        self.metric = measure.name(self.n, "clf") if measure is not None and measure.sized else (stem or "")

    def evaluate(self, trainer: Trainer) -> dict[str, float]:
        """The evaluate stage's translation metrics of the current generators (values only)."""
        arrays = translate_test_set(trainer.sampling_generator(), self.params, self.dataset, trainer.device,
                                    self.settings.seed)
        out = evaluate_translations(self.params, self.dataset, arrays)
        return {k: v for k, v in out.items() if isinstance(v, float)}


def translation_tracker(config: dict[str, Any]) -> TranslationTracker | None:
    """The tracker of a translation run (None when `eval.every` is 0)."""
    settings = TrackSettings.from_config(config)
    if settings.every <= 0:
        return None
    from gangrid.data.store import read_manifest

    wanted = list(settings.metrics_for(read_manifest(config["run"]["dataset"])["kind"]))
    keep = [m for m in wanted if m in feature_metrics({"metrics": wanted})]
    return TranslationTracker(TrackSettings(settings.every, settings.n, tuple(keep), settings.primary, settings.seed,
                                            settings.protocol, settings.rule), config["run"]["dataset"])
