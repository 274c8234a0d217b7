"""What the energy-GAN tricks (ebgan_margin, pulling_away, began) share: the check that D is an auto-encoder."""

from __future__ import annotations

from typing import Any

from gangrid.errors import ConfigError


def require_energy_d(trainer: Any, trick: str) -> None:
    """ConfigError unless the run's D is an auto-encoder whose logits are minus its energy (families ebgan, began)."""
    if not getattr(trainer.d, "energy_based", False):
        raise ConfigError(f"tricks of run {trainer.config['run']['name']}: {trick} needs an auto-encoder discriminator "
                          f"(family ebgan or began), got family '{trainer.config['arch'].get('family')}'")
