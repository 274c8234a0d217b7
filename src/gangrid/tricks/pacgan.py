"""PacGAN (Lin et al. 2018): D judges packs of m samples, all real or all fake, concatenated
along the channel (images) or feature (points) axis: (B, C, ...) -> (B/m, m*C, ...). D's
input width is multiplied through `arch_overrides` (`pack: m`); G is unchanged.

Packing is the last input transform (after replay, augmentation and noise), in the D and
the G step, so D sees m independently transformed samples per pack. Unconditional GANs
only: labels and latent codes cannot be packed, so class-conditional nets and tricks that
pair fakes with their labels or codes (`uses_sample_info`) are a ConfigError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from gangrid.errors import ConfigError
from gangrid.tricks import Trick, register_trick
from gangrid.tricks._checks import require_unconditional, run_key

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """(B, C, ...) -> (B/m, m*C, ...): consecutive groups of m samples become one D input."""
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


@register_trick("pacgan")
class PacGAN(Trick):
    """m: pack size (2-4 in the paper)."""

    defaults = {"m": 2}
    order = 80

    def check(self) -> None:
        self.require(isinstance(self.hp["m"], int) and self.hp["m"] >= 2, "m", "must be an integer >= 2")

    def arch_overrides(self) -> dict[str, Any]:
        return {"pack": self.hp["m"]}

    def setup(self, trainer: "Trainer") -> None:
        m, b = self.hp["m"], trainer.batch_size
        where = run_key(trainer, "pacgan")
        if b % m:
            raise ConfigError(f"{where}: train.batch_size {b} is not a multiple of the pack size m={m}")
        require_unconditional(trainer, "pacgan")
        probe = torch.zeros(m, *trainer.data.shape, device=trainer.device)
        was_training = trainer.d.training
        trainer.d.eval()
        try:
            with torch.no_grad():
                out = trainer.d(pack(probe, m))
        except (RuntimeError, TypeError, ValueError):
            raise ConfigError(f"{where}: arch family '{trainer.config['arch'].get('family')}' does not honour "
                              f"the discriminator option 'pack'") from None
        finally:
            trainer.d.train(was_training)
        if out.logits.shape[0] != 1:
            raise ConfigError(f"{where}: the discriminator returned {out.logits.shape[0]} outputs for one pack")

    def d_inputs(self, trainer: "Trainer", real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.hp["m"]
        return pack(real, m), pack(fake, m)

    def g_inputs(self, trainer: "Trainer", fake: torch.Tensor) -> torch.Tensor:
        return pack(fake, self.hp["m"])
