"""Terms of the translation objectives, as tricks (registered in `gangrid.tricks`).

  l1_target   pix2pix: weight * E|G(a) - b|_1, lambda_L1 = 100 (Isola et al. 2017);
              needs paired data.
  cycle       CycleGAN: weight * (E|F(G(a)) - a|_1 + E|G(F(b)) - b|_1), lambda_cyc = 10.
  identity    CycleGAN: weight * lambda_cyc * (E|G(b) - b|_1 + E|F(a) - a|_1), weight 0.5 (Zhu et al.
              2017 and their code). G maps A -> B, so G is fed *b* and should leave it unchanged,
              and F is fed *a* (E|G(a) - a| + E|F(b) - b| has the directions swapped).
  image_pool  the history of generated images D is trained on (Shrivastava et al. 2017; Zhu et al.
              2017): `size` images (not batches) per direction; size 0 turns it off.

They are used by `gangrid.kinds.translation.trainer.TranslationTrainer` only; in a GAN study
they are a ConfigError. Randomness (the pool's draws) comes from the global torch RNG,
which checkpoints hold, and the pool's images are saved with the tricks' state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from gangrid.errors import ConfigError
from gangrid.tricks import Trick, register_trick

if TYPE_CHECKING:
    from gangrid.kinds.translation.trainer import TranslationTrainer


@dataclass
class TBatch:
    """One training batch of a translation model, in model space [-1, 1].

    `fake[d]` is the generator output of direction d ("ab": G(a), "ba": F(b)), computed
    with grad once per iteration and shared by the D step (detached) and the G step.
    """

    a: torch.Tensor
    b: torch.Tensor
    paired: bool
    fake: dict[str, torch.Tensor] = field(default_factory=dict)


class TranslationTrick(Trick):
    """Base of the translation terms: refuses to run in the GAN loop; hooks for the translation loop.

    `needs_pairs`: the term compares G(a) with the b paired with a (paired data only).
    `needs_two_way`: the term needs both generators (a cyclegan arch).
    """

    needs_pairs = False
    needs_two_way = False

    def setup(self, trainer: Any) -> None:
        if not getattr(trainer, "is_translation", False):
            raise ConfigError(f"tricks of run {trainer.config['run']['name']}: '{self.name}' is a term of the "
                              f"image-to-image translation objectives: use it in a study with kind: translation")
        self.setup_translation(trainer)

    def setup_translation(self, trainer: "TranslationTrainer") -> None:
        """Build-time checks and state, once the translation nets and optimisers exist."""
        return None

    def g_terms(self, trainer: "TranslationTrainer", batch: TBatch) -> dict[str, torch.Tensor]:
        """Loss terms added to the generators' objective."""
        return {}

    def d_fake(self, trainer: "TranslationTrainer", direction: str, fake: torch.Tensor) -> torch.Tensor:
        """The (detached) fakes of `direction` as its discriminator sees them."""
        return fake


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference."""
    return (x - y).abs().mean()


def _weight_check(trick: Trick) -> None:
    w = trick.hp["weight"]
    trick.require(isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0, "weight", "must be a number >= 0")


@register_trick("l1_target")
class L1Target(TranslationTrick):
    """pix2pix's reconstruction term lambda_L1 * E|G(a) - b|_1 (weight = lambda_L1)."""

    defaults = {"weight": 100.0}
    needs_pairs = True

    def check(self) -> None:
        _weight_check(self)

    def g_terms(self, trainer: "TranslationTrainer", batch: TBatch) -> dict[str, torch.Tensor]:
        return {"l1": self.hp["weight"] * l1(batch.fake["ab"], batch.b)} if self.hp["weight"] else {}


@register_trick("cycle")
class Cycle(TranslationTrick):
    """Cycle consistency lambda_cyc * (E|F(G(a)) - a|_1 + E|G(F(b)) - b|_1) (weight = lambda_cyc)."""

    defaults = {"weight": 10.0}
    needs_two_way = True

    def check(self) -> None:
        _weight_check(self)

    def g_terms(self, trainer: "TranslationTrainer", batch: TBatch) -> dict[str, torch.Tensor]:
        if not self.hp["weight"]:
            return {}
        rec_a = trainer.g["ba"](batch.fake["ab"])
        rec_b = trainer.g["ab"](batch.fake["ba"])
        return {"cycle": self.hp["weight"] * (l1(rec_a, batch.a) + l1(rec_b, batch.b))}


@register_trick("identity")
class Identity(TranslationTrick):
    """Identity term weight * lambda_cyc * (E|G(b) - b|_1 + E|F(a) - a|_1); weight 0.5 as in CycleGAN."""

    defaults = {"weight": 0.5}
    needs_two_way = True

    def check(self) -> None:
        _weight_check(self)

    def setup_translation(self, trainer: "TranslationTrainer") -> None:
        cycle = trainer.hooks.get("cycle")
        if cycle is None:
            raise ConfigError(f"tricks of run {trainer.config['run']['name']}: identity: its weight is a fraction of "
                              f"the cycle weight, but the run has no cycle term")
        self.cycle_weight = float(cycle.hp["weight"])

    def g_terms(self, trainer: "TranslationTrainer", batch: TBatch) -> dict[str, torch.Tensor]:
        w = self.hp["weight"] * self.cycle_weight
        if not w:
            return {}
        idt_b = trainer.g["ab"](batch.b)  # G: A -> B leaves a B image unchanged
        idt_a = trainer.g["ba"](batch.a)  # F: B -> A leaves an A image unchanged
        return {"identity": w * (l1(idt_b, batch.b) + l1(idt_a, batch.a))}


class ImagePool:
    """CycleGAN's image pool: up to `size` past generated images, each query returns a batch for D.

    While the pool is not full, incoming images are stored and returned as they are. Once
    full, each incoming image is, with probability p, swapped with a stored one chosen at
    random (D sees the old image, the new one takes its place); otherwise it is returned
    itself. The images swapped in one batch take distinct slots. Images, not batches, are
    the unit, as in the CycleGAN code.
    """

    def __init__(self, size: int, p: float = 0.5, device: torch.device | str = "cpu") -> None:
        self.size, self.p, self.device = int(size), float(p), torch.device(device)
        self.images: torch.Tensor | None = None
        self.count = 0  # filled slots

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """The images D sees for this batch of new `images` (detached); stores new images."""
        images = images.detach()
        if self.size == 0:
            return images
        if self.images is None:
            self.images = torch.zeros(self.size, *images.shape[1:], dtype=images.dtype, device=images.device)
        n_fill = min(len(images), self.size - self.count)
        if n_fill:
            self.images[self.count : self.count + n_fill] = images[:n_fill]
            self.count += n_fill
        rest = images[n_fill:]
        if not len(rest):
            return images
        b = len(rest)
        slots = torch.randperm(self.size, device=images.device)[:b]
        swap = torch.rand(b, device=images.device) < self.p
        mask = swap.view(b, *([1] * (images.dim() - 1)))
        old = self.images[slots]
        out = torch.where(mask, old, rest)
        self.images[slots] = torch.where(mask, rest, old)
        return torch.cat([images[:n_fill], out]) if n_fill else out

    def state_dict(self) -> dict[str, Any]:
        """Stored images and fill count."""
        return {} if self.images is None else {"images": self.images, "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()` (empty = nothing stored yet)."""
        if state:
            self.images = state["images"].to(self.device, copy=True)
            self.count = int(state["count"])


@register_trick("image_pool")
class ImagePoolTrick(TranslationTrick):
    """One ImagePool per direction (for pix2pix it stores concat(input, output) pairs); size 0 = off."""

    defaults = {"size": 50, "p": 0.5}
    order = 15

    def check(self) -> None:
        size = self.hp["size"]
        self.require(isinstance(size, int) and not isinstance(size, bool) and size >= 0, "size", "must be an integer >= 0")
        self.require(0 <= self.hp["p"] <= 1, "p", "must be in [0, 1]")

    def __init__(self, **hp: Any) -> None:
        super().__init__(**hp)
        self.pools: dict[str, ImagePool] = {}

    def setup_translation(self, trainer: "TranslationTrainer") -> None:
        self.pools = {d: ImagePool(self.hp["size"], self.hp["p"], trainer.device) for d in trainer.directions}

    def d_fake(self, trainer: "TranslationTrainer", direction: str, fake: torch.Tensor) -> torch.Tensor:
        return self.pools[direction].query(fake)

    def state_dict(self) -> dict[str, Any]:
        return {d: pool.state_dict() for d, pool in self.pools.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for d, pool in self.pools.items():
            pool.load_state_dict(state.get(d, {}))
