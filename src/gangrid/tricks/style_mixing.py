"""StyleGAN's style-mixing regularisation (Karras et al. 2019), implied by the `stylegan` presets.

With probability `prob` a training batch takes its styles from two latents, switching at a
random layer (see `gangrid.nets.stylegan`). The paper uses 0.9. A trick preset `{style_mixing: {prob: 0.0}}` turns it
off for an ablation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gangrid.errors import ConfigError
from gangrid.tricks import Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


@register_trick("style_mixing")
class StyleMixing(Trick):
    """prob: share of training batches generated with two mixed latents."""

    defaults = {"prob": 0.9}

    def check(self) -> None:
        self.require(0.0 <= self.hp["prob"] <= 1.0, "prob", "must lie in [0, 1]")

    def setup(self, trainer: "Trainer") -> None:
        if not hasattr(trainer.g, "mixing_prob"):
            raise ConfigError(f"tricks of run {trainer.config['run']['name']}: style_mixing needs a style-based "
                              f"generator (family stylegan), got family '{trainer.config['arch'].get('family')}'")
        trainer.g.mixing_prob = float(self.hp["prob"])
