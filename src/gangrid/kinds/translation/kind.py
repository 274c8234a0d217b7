"""The `translation` kind's implementation: what the stages call for pix2pix / CycleGAN studies and
paired / unpaired image-to-image datasets."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from gangrid.config import RunSpec
from gangrid.data.store import load_translation
from gangrid.kinds import StudyKind
from gangrid.kinds.translation.classifier import train_translation_classifier
from gangrid.kinds.translation.data import translation_spec
from gangrid.kinds.translation.evaluate import evaluate_translation_real, evaluate_translation_run
from gangrid.kinds.translation.sample import sample_translation_run
from gangrid.kinds.translation.tracking import TranslationTracker, translation_tracker
from gangrid.kinds.translation.trainer import TranslationTrainer
from gangrid.nets import DataSpec
from gangrid.runtime import seed_everything


class TranslationKind(StudyKind):
    """Image-to-image translation: domain A -> B (and back for CycleGAN), scored on held-out test inputs."""

    trainer_class = TranslationTrainer

    def data_spec(self, dataset: str) -> DataSpec:
        """Kind paired/unpaired, (C, H, W) of both domains, number of classes."""
        return translation_spec(dataset)

    def build_trainer(self, config: dict[str, Any], device: torch.device, optimizers: bool = True) -> TranslationTrainer:
        """A TranslationTrainer for a resolved run config, with its dataset's spec."""
        return TranslationTrainer(config, self.data_spec(config["run"]["dataset"]), device, optimizers)

    def fresh_trainer(self, config: dict[str, Any], device: torch.device) -> Callable[[], TranslationTrainer]:
        """Builds the run's trainer at step 0 on its train split (read once), seeded as an uninterrupted run."""
        seed = int(config["run"]["seed"])
        split = load_translation(config["run"]["dataset"], "train", mmap=False)
        a = torch.from_numpy(np.ascontiguousarray(split.a))
        b = torch.from_numpy(np.ascontiguousarray(split.b))

        def fresh() -> TranslationTrainer:
            seed_everything(seed)
            trainer = self.build_trainer(config, device)
            trainer.attach_data(a, b, seed=seed)
            return trainer

        return fresh

    def tracker(self, config: dict[str, Any]) -> TranslationTracker | None:
        """L1 / PSNR / SSIM and FID / KID of a fixed subset of test inputs, as the evaluate stage scores them."""
        return translation_tracker(config)

    def sample(self, params: dict[str, Any], spec: RunSpec, trainer: TranslationTrainer) -> None:
        """Translate the fixed held-out test inputs -> samples.npz, and triptychs -> grid.png."""
        sample_translation_run(params, spec, trainer)

    def evaluate(self, params: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
        """Pixel metrics against paired targets, feature metrics against held-out target-domain images."""
        return evaluate_translation_run(params, spec)

    def evaluate_real(self, params: dict[str, Any], dataset: str) -> dict[str, Any]:
        """Target-domain training images scored like translations: the reference row."""
        return evaluate_translation_real(params, dataset)

    def train_classifier(self, params: dict[str, Any], dataset: str) -> dict[str, float]:
        """The classifier of the set's target domain(s)."""
        return train_translation_classifier(params, dataset)
