"""The `gan` kind's implementation: what the stages call for GAN studies and image / point datasets."""

from __future__ import annotations

from typing import Any, Callable

import torch

from gangrid.config import RunSpec
from gangrid.data.store import load_split, read_manifest
from gangrid.kinds import StudyKind
from gangrid.kinds.gan import classifier, evaluation, sampling
from gangrid.kinds.gan.tracking import GanTracker, gan_tracker
from gangrid.kinds.gan.trainer import GanTrainer
from gangrid.nets import DataSpec
from gangrid.runtime import seed_everything


class GanKind(StudyKind):
    """GAN studies: noise (and labels) -> samples, scored against the held-out test split."""

    trainer_class = GanTrainer

    def data_spec(self, dataset: str) -> DataSpec:
        """Kind ("image" or "points"), sample shape and number of classes of a processed dataset."""
        manifest = read_manifest(dataset)
        shape = tuple(manifest["files"]["train_x.npy"]["shape"][1:])
        n_classes = int(manifest.get("meta", {}).get("classes", 0)) if manifest.get("labels") else 0
        return DataSpec(kind=manifest["kind"], shape=shape, n_classes=n_classes)

    def build_trainer(self, config: dict[str, Any], device: torch.device, optimizers: bool = True) -> GanTrainer:
        """A GanTrainer for a resolved run config, with its dataset's spec."""
        return GanTrainer(config, self.data_spec(config["run"]["dataset"]), device, optimizers)

    def fresh_trainer(self, config: dict[str, Any], device: torch.device) -> Callable[[], GanTrainer]:
        """Builds the run's trainer at step 0 on its train split (read once), seeded as an uninterrupted run."""
        seed = int(config["run"]["seed"])
        split = load_split(config["run"]["dataset"], "train", mmap=False)
        x = torch.from_numpy(split.x)

        def fresh() -> GanTrainer:
            seed_everything(seed)
            trainer = self.build_trainer(config, device)
            y = torch.from_numpy(split.y) if (split.y is not None and trainer.data.n_classes) else None
            trainer.attach_data(x, y, seed=seed)
            return trainer

        return fresh

    def tracker(self, config: dict[str, Any]) -> GanTracker | None:
        """Modes / HQ % / mode KL (2-D mixtures) or FID / KID / PRDC on classifier features (images)."""
        return gan_tracker(config)

    def sample(self, params: dict[str, Any], spec: RunSpec, trainer: GanTrainer) -> None:
        """N samples from fixed noise -> samples.npz, and their grid (or scatter plot) -> grid.png."""
        sampling.sample_run(params, spec, trainer)

    def evaluate(self, params: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
        """Every configured metric of the run's samples against the held-out test split (+ its family's own)."""
        return evaluation.evaluate_run(params, spec)

    def evaluate_real(self, params: dict[str, Any], dataset: str) -> dict[str, Any]:
        """N training samples scored like a run: the reference row."""
        return evaluation.evaluate_real(params, dataset)

    def train_classifier(self, params: dict[str, Any], dataset: str) -> dict[str, float]:
        """The CNN (images) or nearest-centre classifier (2-D mixtures) of a dataset."""
        return classifier.train_classifier(params, dataset)
