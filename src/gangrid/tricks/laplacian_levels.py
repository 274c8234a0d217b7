"""LAPGAN's level-wise training (Denton et al. 2015), implied by the `lapgan` presets.

Each level's discriminator sees a real image's band-pass h_k with its low-pass l_k = u(I_{k+1})
against the generator's band-pass G_k(z_k, l_k) drawn on the same real low-pass, and the coarse
discriminator the real I_K against G_K(z): the levels train independently on real data, as in the
paper, instead of on the cascade's own coarser outputs. The real and fake D inputs are both the
packed per-level tensors of `gangrid.nets.lapgan` (the fakes are drawn afresh from the real batch
of the step: without grad for the D step, with grad for the G step). It runs first among the input
tricks; tricks that need image-shaped D inputs (DiffAugment, PacGAN) do not apply after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gangrid.errors import ConfigError
from gangrid.tricks import Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


@register_trick("laplacian_levels")
class LaplacianLevels(Trick):
    """No hyperparameters: the pyramid's depth is the arch preset's `levels`."""

    order = 1

    def setup(self, trainer: "Trainer") -> None:
        if not hasattr(trainer.g, "level_fakes"):
            raise ConfigError(f"tricks of run {trainer.config['run']['name']}: laplacian_levels needs the LAPGAN "
                              f"cascade (family lapgan), got family '{trainer.config['arch'].get('family')}'")

    def d_inputs(self, trainer: "Trainer", real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from gangrid.nets.lapgan import pack_real

        g = trainer.g
        with torch.no_grad():
            fakes = g.level_fakes(real)
        return pack_real(real, g.layout, g.levels), fakes

    def g_inputs(self, trainer: "Trainer", fake: torch.Tensor) -> torch.Tensor:
        assert trainer.last_real is not None, "a D step precedes every G step"
        return trainer.g.level_fakes(trainer.last_real)
