"""The `encoder` kind's implementation: the GAN kind's data, sampling, evaluation and tracking with the
AAE / BiGAN trainers, plus reconstruction error among the in-training metrics."""

from __future__ import annotations

from typing import Any

import torch

from gangrid.errors import ConfigError
from gangrid.kinds.encoder.tracking import EncoderTracker, encoder_tracker
from gangrid.kinds.encoder.trainer import TRAINERS, EncoderTrainer
from gangrid.kinds.gan.kind import GanKind
from gangrid.nets import DataSpec


class EncoderKind(GanKind):
    """GANs with an encoder: samples are decoded prior samples, scored like GAN samples, plus encoder metrics."""

    def trainer_for(self, config: dict[str, Any], data: DataSpec, device: torch.device | str,
                    optimizers: bool = True) -> EncoderTrainer:
        """The trainer of the run's family (aae, bigan) for data `data`."""
        family = config["arch"]["family"]
        if family not in TRAINERS:
            raise ConfigError(f"archs.{config['arch']['name']}.family: '{family}' has no encoder trainer "
                              f"(known: {', '.join(TRAINERS)})")
        return TRAINERS[family](config, data, device, optimizers)

    def build_trainer(self, config: dict[str, Any], device: torch.device, optimizers: bool = True) -> EncoderTrainer:
        """The trainer of the run's family (aae, bigan), with its dataset's spec."""
        return self.trainer_for(config, self.data_spec(config["run"]["dataset"]), device, optimizers)

    def tracker(self, config: dict[str, Any]) -> EncoderTracker | None:
        """The GAN metrics of decoded prior samples (FID decides convergence) and the test reconstruction error."""
        return encoder_tracker(config)
