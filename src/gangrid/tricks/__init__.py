"""Stabilisation tricks: one module each, plugged into the training loop through hooks.

A trick preset in params.yaml maps trick names to hyperparameters, e.g.
`sn+ema: {spectral_norm: {}, ema: {decay: 0.999}}`; it may also carry `train`
overrides (TTUR's learning rates, n_critic). Each name is a `Trick` subclass
registered here. The loop (gangrid.train) calls the hooks below, in
ascending `order` of the tricks; it has no per-trick branches.

Hooks, in the order the loop calls them:

build time
  arch_overrides()                 -> dict merged into the arch preset before the nets are built
                                      (PacGAN `pack`, minibatch stddev `mbstd`, D `dropout`)
  wrap_nets(G, D)                  -> (G, D)   e.g. spectral normalisation
  setup(trainer)                   once the nets and optimisers exist (EMA copy, buffers)
each discriminator step (n_critic per iteration)
  d_inputs(trainer, real, fake)    -> (real, fake) as the discriminator sees them
                                      (instance noise, DiffAugment, replay of old fakes, packing)
  d_targets(trainer, targets, n)   -> Targets   (label smoothing, noisy/flipped labels)
  d_penalties(trainer, batch)      -> {name: loss term} added to the D loss (GP, R1, consistency)
  before_d_optim(trainer)          after backward, before the optimiser step (gradient clipping)
  after_d_step(trainer)            after the optimiser step (weight clipping)
each generator step
  before_g_step(trainer)           (unrolled GAN: save D, take k D steps)
  g_inputs(trainer, fake)          -> fake as the discriminator sees it (DiffAugment, packing)
  g_penalties(trainer, batch)      -> {name: loss term} added to the G loss (feature matching)
  before_g_optim(trainer)          after backward, before the optimiser step
  after_g_step(trainer)            (EMA update, unrolled GAN: restore D)
sampling and persistence
  sampling_generator(G)            -> the module used to sample (EMA weights)
  state_dict() / load_state_dict() what a checkpoint must hold to resume bit-exactly
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gangrid.errors import ConfigError
from gangrid.losses import Targets
from gangrid.registry import Registry, import_submodules

if TYPE_CHECKING:
    from gangrid.train import Trainer


@dataclass
class DBatch:
    """What the discriminator saw in one step, for penalty terms."""

    real: torch.Tensor  # discriminator inputs (after d_inputs)
    fake: torch.Tensor
    real_logits: torch.Tensor
    fake_logits: torch.Tensor
    real_features: torch.Tensor
    fake_features: torch.Tensor
    y_real: torch.Tensor | None = None
    y_fake: torch.Tensor | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class GBatch:
    """What the generator step computed, for penalty terms."""

    fake: torch.Tensor  # discriminator input (after g_inputs)
    fake_logits: torch.Tensor
    fake_features: torch.Tensor
    z: torch.Tensor
    y_fake: torch.Tensor | None = None
    real: torch.Tensor | None = None  # the last real batch (model space), for feature matching


class Trick:
    """Base class: every hook is a no-op; a trick overrides only what it changes."""

    order: int = 50  # hooks run in ascending order (packing last, augmentation first)
    defaults: dict[str, Any] = {}

    def __init__(self, **hparams: Any) -> None:
        unknown = set(hparams) - set(self.defaults)
        if unknown:
            raise ConfigError(
                f"trick '{self.name}': unknown hyperparameter(s) {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(self.defaults)) or 'none'})"
            )
        self.hp = {**self.defaults, **hparams}

    name: str = "trick"

    # build time
    def arch_overrides(self) -> dict[str, Any]:
        return {}

    def wrap_nets(self, g: nn.Module, d: nn.Module) -> tuple[nn.Module, nn.Module]:
        return g, d

    def setup(self, trainer: "Trainer") -> None:
        return None

    # discriminator step
    def d_inputs(self, trainer: "Trainer", real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return real, fake

    def d_targets(self, trainer: "Trainer", targets: Targets, n: int) -> Targets:
        return targets

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        return {}

    def before_d_optim(self, trainer: "Trainer") -> None:
        return None

    def after_d_step(self, trainer: "Trainer") -> None:
        return None

    # generator step
    def before_g_step(self, trainer: "Trainer") -> None:
        return None

    def g_inputs(self, trainer: "Trainer", fake: torch.Tensor) -> torch.Tensor:
        return fake

    def g_penalties(self, trainer: "Trainer", batch: GBatch) -> dict[str, torch.Tensor]:
        return {}

    def before_g_optim(self, trainer: "Trainer") -> None:
        return None

    def after_g_step(self, trainer: "Trainer") -> None:
        return None

    # sampling and persistence
    def sampling_generator(self, g: nn.Module) -> nn.Module:
        return g

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None


TRICKS: Registry[type[Trick]] = Registry("trick")


def register_trick(name: str):
    """Class decorator: register a Trick subclass under `name` (used as its params key)."""

    def decorator(cls: type[Trick]) -> type[Trick]:
        cls.name = name
        return TRICKS.register(name)(cls)

    return decorator


def build_tricks(tricks_cfg: dict[str, dict[str, Any]], key: str = "tricks") -> list[Trick]:
    """Instantiate the tricks of a resolved config, sorted by hook order."""
    import_submodules(__name__)
    tricks = []
    for name, hparams in tricks_cfg.items():
        cls = TRICKS.get(name, key)
        if hparams is not None and not isinstance(hparams, dict):
            raise ConfigError(f"{key}.{name}: expected a mapping of hyperparameters, got {hparams!r}")
        tricks.append(cls(**(hparams or {})))
    return sorted(tricks, key=lambda t: (t.order, t.name))


class Hooks:
    """Calls a hook on every trick in order; chains the ones that transform a value."""

    def __init__(self, tricks: list[Trick]) -> None:
        self.tricks = tricks

    def arch_overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for t in self.tricks:
            out.update(t.arch_overrides())
        return out

    def wrap_nets(self, g: nn.Module, d: nn.Module) -> tuple[nn.Module, nn.Module]:
        for t in self.tricks:
            g, d = t.wrap_nets(g, d)
        return g, d

    def call(self, hook: str, trainer: "Trainer") -> None:
        """Run a hook that returns nothing (setup, before/after steps)."""
        for t in self.tricks:
            getattr(t, hook)(trainer)

    def d_inputs(self, trainer: "Trainer", real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for t in self.tricks:
            real, fake = t.d_inputs(trainer, real, fake)
        return real, fake

    def d_targets(self, trainer: "Trainer", n: int) -> Targets:
        targets = Targets()
        for t in self.tricks:
            targets = t.d_targets(trainer, targets, n)
        return targets

    def g_inputs(self, trainer: "Trainer", fake: torch.Tensor) -> torch.Tensor:
        for t in self.tricks:
            fake = t.g_inputs(trainer, fake)
        return fake

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for t in self.tricks:
            out.update(t.d_penalties(trainer, batch))
        return out

    def g_penalties(self, trainer: "Trainer", batch: GBatch) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for t in self.tricks:
            out.update(t.g_penalties(trainer, batch))
        return out

    def sampling_generator(self, g: nn.Module) -> nn.Module:
        for t in self.tricks:
            g = t.sampling_generator(g)
        return g

    def state_dict(self) -> dict[str, Any]:
        return {t.name: t.state_dict() for t in self.tricks}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for t in self.tricks:
            t.load_state_dict(state.get(t.name, {}))
