"""The `superres` kind's implementation: what the stages call for SRGAN studies and superres datasets."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from gangrid.classifier import fit_image_classifier
from gangrid.config import RunSpec
from gangrid.data.store import load_split, read_manifest
from gangrid.data.superres import DEFAULT_FACTOR, downsample
from gangrid.errors import ConfigError
from gangrid.kinds import StudyKind
from gangrid.kinds.superres.evaluate import evaluate_bicubic, evaluate_superres_run
from gangrid.kinds.superres.sample import sample_superres_run
from gangrid.kinds.superres.tracking import SuperResTracker, superres_tracker
from gangrid.kinds.superres.trainer import SuperResTrainer
from gangrid.nets import DataSpec
from gangrid.runtime import seed_everything


def factor_of(dataset: str) -> int:
    """The set's upsampling factor (manifest meta)."""
    return int(read_manifest(dataset)["meta"]["factor"])


class SuperResKind(StudyKind):
    """Super-resolution: LR test inputs -> SR outputs, scored against the HR originals beside the bicubic upsampler."""

    def data_spec(self, dataset: str) -> DataSpec:
        """Kind "superres", the HR (C, H, W), number of classes."""
        manifest = read_manifest(dataset)
        if manifest["kind"] != "superres":
            raise ConfigError(f"dataset '{dataset}' is a {manifest['kind']} set: a superres study needs a superres set "
                              f"(source superres)")
        shape = tuple(manifest["files"]["train_x.npy"]["shape"][1:])
        n_classes = int(manifest.get("meta", {}).get("classes", 0)) if manifest.get("labels") else 0
        return DataSpec(kind="superres", shape=shape, n_classes=n_classes)

    def trainer_for(self, config: dict[str, Any], data: DataSpec, device: torch.device | str,
                    optimizers: bool = True) -> SuperResTrainer:
        """An SRGAN trainer for data `data`, upsampling by the dataset preset's factor."""
        return SuperResTrainer(config, data, int(config["dataset"].get("factor", DEFAULT_FACTOR)), device, optimizers)

    def build_trainer(self, config: dict[str, Any], device: torch.device, optimizers: bool = True) -> SuperResTrainer:
        """An SRGAN trainer for a resolved run config, with its dataset's spec and factor."""
        dataset = config["run"]["dataset"]
        return SuperResTrainer(config, self.data_spec(dataset), factor_of(dataset), device, optimizers)

    def fresh_trainer(self, config: dict[str, Any], device: torch.device) -> Callable[[], SuperResTrainer]:
        """Builds the run's trainer at step 0 on its (LR, HR) training pairs (computed once), seeded."""
        seed, dataset = int(config["run"]["seed"]), config["run"]["dataset"]
        hr = np.asarray(load_split(dataset, "train", mmap=False).x)
        lr = torch.from_numpy(downsample(hr, factor_of(dataset)))
        hr_t = torch.from_numpy(hr)

        def fresh() -> SuperResTrainer:
            seed_everything(seed)
            trainer = self.build_trainer(config, device)
            trainer.attach_data(lr, hr_t, seed=seed)
            return trainer

        return fresh

    def tracker(self, config: dict[str, Any]) -> SuperResTracker | None:
        """PSNR (primary), SSIM and FID of a fixed subset of test inputs."""
        return superres_tracker(config)

    def sample(self, params: dict[str, Any], spec: RunSpec, trainer: SuperResTrainer) -> None:
        """SR outputs of the fixed test inputs -> samples.npz; LR / bicubic / SR / HR rows -> grid.png."""
        sample_superres_run(params, spec, trainer)

    def evaluate(self, params: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
        """PSNR / SSIM against the HR originals and FID / KID / PRDC to them."""
        return evaluate_superres_run(params, spec)

    def evaluate_real(self, params: dict[str, Any], dataset: str) -> dict[str, Any]:
        """The bicubic upsampler scored like a run: the reference row of every SR table."""
        return evaluate_bicubic(params, dataset)

    def train_classifier(self, params: dict[str, Any], dataset: str) -> dict[str, float]:
        """The domain classifier of the HR images (the metrics' features and the content loss's default extractor)."""
        train, val, test = (load_split(dataset, s, mmap=False) for s in ("train", "val", "test"))
        if train.y is None:
            raise ConfigError(f"dataset '{dataset}' has no labels: a superres set needs them for its classifier")
        n_classes = int(read_manifest(dataset)["meta"].get("classes", int(np.max(train.y)) + 1))
        return fit_image_classifier(params, dataset, train, val, test, n_classes)
