"""Stabilisation tricks: one module each, plugged into the training loop through hooks.

A trick preset in params.yaml maps trick names to hyperparameters, e.g.
`sn+ema: {spectral_norm: {}, ema: {decay: 0.999}}`; it may also carry `train`
overrides (TTUR's learning rates, n_critic). Each name is a `Trick` subclass
registered here. The GAN loop (gangrid.kinds.gan.trainer) calls the hooks below, in
ascending `order` of the tricks; it has no per-trick branches.

Hooks, in the order the loop calls them:

build time
  arch_overrides()                 -> dict merged into the arch preset before the nets are built
                                      (PacGAN `pack`, minibatch stddev `mbstd`, minibatch
                                      discrimination `mbdisc`, D `dropout`)
  wrap_nets(G, D)                  -> (G, D)   e.g. spectral normalisation, BN -> LN in a critic
  setup(trainer)                   once the nets and optimisers exist (EMA copy, checks, LR)
each discriminator step (n_critic per iteration; the unrolled GAN's look-ahead reruns these hooks)
  d_inputs(trainer, real, fake)    -> (real, fake) as the discriminator sees them
                                      (replay of old fakes, DiffAugment, instance noise, packing)
  d_targets(trainer, targets, n)   -> Targets for n discriminator outputs
                                      (label smoothing, noisy/flipped labels)
  d_penalties(trainer, batch)      -> {name: loss term} added to the D loss (GP, R1, consistency)
  before_d_optim(trainer)          after backward, before the optimiser step (gradient clipping)
  after_d_step(trainer)            after the optimiser step (weight clipping)
each generator step
  before_g_step(trainer)           before the G step
  g_step_context(trainer, fake, z, y_fake)
                                   -> a context manager the G step runs in: the D that G is trained
                                      against (unrolled GAN: D after k look-ahead steps, restored on exit)
  g_inputs(trainer, fake)          -> fake as the discriminator sees it (DiffAugment, noise, packing)
  g_penalties(trainer, batch)      -> {name: loss term} added to the G loss (feature matching); a trick
                                      whose `replaces_g_loss` is True makes these terms G's whole loss
                                      (Salimans et al.'s feature matching), the adversarial term is dropped
  before_g_optim(trainer)          after backward, before the optimiser step (gradient clipping)
  after_g_step(trainer)            (EMA update, LR schedule)
  log_values(trainer)              -> {name: detached scalar} logged with the iteration's values (BEGAN's
                                      k_t and convergence measure M_global); never part of a loss
sampling and persistence
  sampling_generator(G)            -> the module used to sample (EMA weights)
  state_dict() / load_state_dict() what a checkpoint must hold to resume bit-exactly (tensors,
                                      numbers, lists and dicts only: checkpoints load with
                                      weights_only=True)

Rules for hooks, so the hot path stays lean: a hook never forces a host-device
sync (no `.item()`, `float(tensor)`, data-dependent Python branches on tensors);
randomness comes from the global torch RNG (saved in checkpoints) so a resumed
run is bit-exact; a trick overrides only the hooks it needs, and `Hooks` calls
only overridden hooks, so a trick that is off costs nothing.

Two classic tricks need no module because they are plain `train` overrides in
a preset: TTUR (`train: {lr_d: 4.0e-4, lr_g: 1.0e-4}`, Heusel et al. 2017) and
several D steps per G step (`train: {n_critic: 5}`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ContextManager

import torch
from torch import nn

from gangrid.errors import ConfigError
from gangrid.losses import Targets
from gangrid.registry import Registry, import_submodules

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


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


class HParamError(ConfigError):
    """A trick hyperparameter out of range; `build_tricks` prefixes the params key."""

    def __init__(self, hparam: str, message: str) -> None:
        super().__init__(f"{hparam}: {message}")
        self.hparam, self.message = hparam, message


class Trick:
    """Base class: every hook is a no-op; a trick overrides only what it changes.

    Subclasses declare `defaults` (every hyperparameter with its default value)
    and may override `check()` to reject out-of-range values with a ConfigError.
    """

    order: int = 50  # hooks run in ascending order (replay/augmentation first, packing last)
    defaults: dict[str, Any] = {}
    name: str = "trick"
    # True when the trick pairs each fake (or its D features) with per-sample side information
    # (y_fake, DBatch.extras["z"], y_real): replay and PacGAN, which change which sample sits
    # where in D's batch, refuse to run next to such a trick.
    uses_sample_info: bool = False
    # True when the trick's G terms replace G's adversarial loss instead of adding to it.
    replaces_g_loss: bool = False

    def __init__(self, **hparams: Any) -> None:
        unknown = set(hparams) - set(self.defaults)
        if unknown:
            raise ConfigError(
                f"unknown hyperparameter(s) {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(self.defaults)) or 'none'})"
            )
        self.hp = {**self.defaults, **hparams}
        self.check()

    def check(self) -> None:
        """Raise ConfigError naming the hyperparameter when a value is out of range."""
        return None

    def require(self, condition: bool, hparam: str, message: str) -> None:
        """HParamError `<message> (got <value>)` for `hparam` unless `condition` holds."""
        if not condition:
            raise HParamError(hparam, f"{message} (got {self.hp.get(hparam)!r})")

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

    def g_step_context(self, trainer: "Trainer", fake: torch.Tensor, z: torch.Tensor,
                       y_fake: torch.Tensor | None) -> ContextManager[None]:
        return contextlib.nullcontext()

    def g_inputs(self, trainer: "Trainer", fake: torch.Tensor) -> torch.Tensor:
        return fake

    def g_penalties(self, trainer: "Trainer", batch: GBatch) -> dict[str, torch.Tensor]:
        return {}

    def before_g_optim(self, trainer: "Trainer") -> None:
        return None

    def after_g_step(self, trainer: "Trainer") -> None:
        return None

    def log_values(self, trainer: "Trainer") -> dict[str, torch.Tensor]:
        return {}

    # sampling and persistence
    def sampling_generator(self, g: nn.Module) -> nn.Module:
        return g

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None


HOOK_NAMES = (
    "arch_overrides", "wrap_nets", "setup", "d_inputs", "d_targets", "d_penalties", "before_d_optim",
    "after_d_step", "before_g_step", "g_step_context", "g_inputs", "g_penalties", "before_g_optim", "after_g_step",
    "log_values", "sampling_generator",
)
D_STEP_HOOKS = ("d_inputs", "d_targets", "d_penalties", "before_d_optim", "after_d_step")

TRICKS: Registry[type[Trick]] = Registry("trick")


def register_trick(name: str):
    """Class decorator: register a Trick subclass under `name` (used as its params key)."""

    def decorator(cls: type[Trick]) -> type[Trick]:
        cls.name = name
        return TRICKS.register(name)(cls)

    return decorator


def build_tricks(tricks_cfg: dict[str, dict[str, Any]], key: str = "tricks") -> list[Trick]:
    """Instantiate the tricks of a resolved config, sorted by hook order; errors name `key.<trick>`."""
    import_submodules(__name__)
    tricks = []
    for name, hparams in tricks_cfg.items():
        cls = TRICKS.get(name, key)
        if hparams is not None and not isinstance(hparams, dict):
            raise ConfigError(f"{key}.{name}: expected a mapping of hyperparameters, got {hparams!r}")
        try:
            tricks.append(cls(**(hparams or {})))
        except HParamError as exc:
            raise ConfigError(f"{key}.{name}.{exc.hparam}: {exc.message}") from None
        except ConfigError as exc:
            raise ConfigError(f"{key}.{name}: {exc}") from None
    return sorted(tricks, key=lambda t: (t.order, t.name))


def overrides(trick: Trick, hook: str) -> bool:
    """True when `trick`'s class overrides `hook` (the base-class no-op is never called)."""
    return getattr(type(trick), hook) is not getattr(Trick, hook)


class Hooks:
    """Calls a hook on the tricks that override it, in order; chains the ones that transform a value."""

    def __init__(self, tricks: list[Trick]) -> None:
        self.tricks = tricks
        self.by_hook: dict[str, list[Trick]] = {h: [t for t in tricks if overrides(t, h)] for h in HOOK_NAMES}
        # G's loss includes the adversarial term unless a trick replaces it (`Trick.replaces_g_loss`)
        self.g_adversarial = not any(t.replaces_g_loss for t in tricks)

    def get(self, name: str) -> Trick | None:
        """The trick registered as `name`, if this run uses it."""
        return next((t for t in self.tricks if t.name == name), None)

    def arch_overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for t in self.by_hook["arch_overrides"]:
            out.update(t.arch_overrides())
        return out

    def wrap_nets(self, g: nn.Module, d: nn.Module) -> tuple[nn.Module, nn.Module]:
        for t in self.by_hook["wrap_nets"]:
            g, d = t.wrap_nets(g, d)
        return g, d

    def call(self, hook: str, trainer: "Trainer") -> None:
        """Run a hook that returns nothing (setup, before/after steps)."""
        for t in self.by_hook[hook]:
            getattr(t, hook)(trainer)

    def d_inputs(self, trainer: "Trainer", real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for t in self.by_hook["d_inputs"]:
            real, fake = t.d_inputs(trainer, real, fake)
        return real, fake

    def d_targets(self, trainer: "Trainer", n: int) -> Targets:
        targets = Targets()
        for t in self.by_hook["d_targets"]:
            targets = t.d_targets(trainer, targets, n)
        return targets

    def g_step_context(self, trainer: "Trainer", fake: torch.Tensor, z: torch.Tensor,
                       y_fake: torch.Tensor | None) -> ContextManager[Any]:
        """The tricks' G-step contexts, entered in order (a no-op when no trick has one)."""
        tricks = self.by_hook["g_step_context"]
        if not tricks:
            return contextlib.nullcontext()
        stack = contextlib.ExitStack()
        with stack:
            for t in tricks:
                stack.enter_context(t.g_step_context(trainer, fake, z, y_fake))
            return stack.pop_all()

    def g_inputs(self, trainer: "Trainer", fake: torch.Tensor) -> torch.Tensor:
        for t in self.by_hook["g_inputs"]:
            fake = t.g_inputs(trainer, fake)
        return fake

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for t in self.by_hook["d_penalties"]:
            out.update(t.d_penalties(trainer, batch))
        return out

    def g_penalties(self, trainer: "Trainer", batch: GBatch) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for t in self.by_hook["g_penalties"]:
            out.update(t.g_penalties(trainer, batch))
        return out

    def log_values(self, trainer: "Trainer") -> dict[str, torch.Tensor]:
        """The tricks' values to log beside the iteration's losses ({} when no trick has any)."""
        out: dict[str, torch.Tensor] = {}
        for t in self.by_hook["log_values"]:
            out.update(t.log_values(trainer))
        return out

    def sampling_generator(self, g: nn.Module) -> nn.Module:
        for t in self.by_hook["sampling_generator"]:
            g = t.sampling_generator(g)
        return g

    def state_dict(self) -> dict[str, Any]:
        return {t.name: t.state_dict() for t in self.tricks}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for t in self.tricks:
            t.load_state_dict(state.get(t.name, {}))
