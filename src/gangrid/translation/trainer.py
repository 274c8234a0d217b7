"""The translation loop: pix2pix and CycleGAN updates with the checkpoint contract of `gangrid.train.Trainer`.

One iteration: every generator translates its batch once (with grad); one update of
all discriminators on real target-domain images vs the detached translations (through
the image pool); then one update of all generators through the frozen discriminators:
adversarial loss of each direction + the objective terms of the translation tricks
(l1_target, cycle, identity). pix2pix's discriminator sees concat(input, image); a
CycleGAN discriminator sees the image alone. Both optimisers hold all nets of their
side (G and F share one Adam, D_A and D_B another), as in the reference implementation.

Exposes what `gangrid.stages.train.train_run` uses (`step`, `iteration()`, `g`, `d`,
`state_dict()` / `load_state_dict()`, `sampling_generator()`), so the stage's loop,
logging, divergence detection and checkpointing are shared with the GAN trainer.
GAN tricks whose hooks this loop calls keep working (lr_schedule, grad_clip, ema,
spectral_norm, label smoothing, weight clipping); tricks with other hooks are refused.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from gangrid.data.store import load_translation
from gangrid.errors import ConfigError
from gangrid.losses import get_loss
from gangrid.nets import DataSpec, build_nets
from gangrid.tricks import Hooks, Trick, build_tricks, overrides
from gangrid.train import BatchSampler, make_optimizer, optimizer_step, rng_state, seed_everything, set_rng_state, zero_grad
from gangrid.translation.nets import TRANSLATION_FAMILIES
from gangrid.translation.tricks import TBatch, TranslationTrick

# Hooks of gangrid.tricks that the translation loop calls (with the same meaning as in the GAN loop).
SUPPORTED_HOOKS = ("setup", "wrap_nets", "d_targets", "before_d_optim", "after_d_step", "before_g_optim",
                   "after_g_step", "sampling_generator")
UNSUPPORTED_HOOKS = ("arch_overrides", "d_inputs", "d_penalties", "before_g_step", "g_inputs", "g_penalties")
DOMAIN_OF = {"ab": "b", "ba": "a"}  # the domain a direction translates into
SOURCE_OF = {"ab": "a", "ba": "b"}


def check_tricks(tricks: list[Trick], run: str) -> None:
    """ConfigError for a GAN trick whose hooks the translation loop does not call."""
    for t in tricks:
        if isinstance(t, TranslationTrick):
            continue
        bad = [h for h in UNSUPPORTED_HOOKS if overrides(t, h)]
        if bad:
            raise ConfigError(f"tricks of run {run}: '{t.name}' changes the GAN loop through {', '.join(bad)}, "
                              f"which the translation loop does not call (use image_pool for a history of fakes)")


def to_model_space(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float in [-1, 1]; float tensors unchanged."""
    return (x.float() - 127.5) / 127.5 if x.dtype == torch.uint8 else x


class TranslationTrainer:
    """Holds the translation nets (`g`, `d`: nets keyed by direction), optimisers, loss and tricks."""

    is_translation = True

    def __init__(self, config: dict[str, Any], data: DataSpec, device: torch.device | str = "cpu",
                 optimizers: bool = True) -> None:
        self.config = config
        self.data = data
        self.device = torch.device(device)
        train = config["train"]
        run = config["run"]["name"]
        arch = config["arch"]
        if arch["family"] not in TRANSLATION_FAMILIES:
            raise ConfigError(f"archs.{arch['name']}.family: '{arch['family']}' is not an image-to-image family "
                              f"(known: {', '.join(TRANSLATION_FAMILIES)})")
        if int(train.get("n_critic", 1)) != 1:
            raise ConfigError(f"train.n_critic: the translation loop takes one D step per G step (got {train['n_critic']})")
        self.batch_size = int(train["batch_size"])
        tricks = build_tricks(config["tricks"], f"tricks of run {run}")
        check_tricks(tricks, run)
        self.hooks = Hooks(tricks)
        self.terms = [t for t in tricks if isinstance(t, TranslationTrick)]
        g, d = build_nets(arch, data, key=f"archs.{arch['name']}")
        self.conditional = bool(getattr(d, "conditional", False))
        g, d = self.hooks.wrap_nets(g, d)
        self.g: nn.Module = g.to(self.device)
        self.d: nn.Module = d.to(self.device)
        self.directions = list(self.g.keys())
        self.needs_pairs = self.conditional or any(t.needs_pairs for t in self.terms)
        self._check_model(run)
        self.loss = get_loss(config["loss"]["fn"], f"losses.{config['loss']['name']}.fn")
        self.opt_g: torch.optim.Optimizer | None = None
        self.opt_d: torch.optim.Optimizer | None = None
        if optimizers:  # sampling needs none (and constructing one costs torch a 0.8 s import of torch._dynamo)
            self.opt_g = make_optimizer(self.g.parameters(), train["optimizer"], train["lr_g"], train["betas"])
            self.opt_d = make_optimizer(self.d.parameters(), train["optimizer"], train["lr_d"], train["betas"])
        self.step = 0
        self.samplers: dict[str, BatchSampler] = {}
        self.hooks.call("setup", self)

    def _check_model(self, run: str) -> None:
        arch = self.config["arch"]["name"]
        if self.needs_pairs and self.data.kind != "paired":
            why = "its discriminator sees (input, target) pairs" if self.conditional else \
                "its terms " + ", ".join(t.name for t in self.terms if t.needs_pairs) + " compare outputs with paired targets"
            raise ConfigError(f"run {run}: arch '{arch}' with these tricks needs a paired dataset ({why}); "
                              f"'{self.config['run']['dataset']}' is {self.data.kind}")
        for t in self.terms:
            if t.needs_two_way and "ba" not in self.directions:
                raise ConfigError(f"tricks of run {run}: '{t.name}' needs both generators (a cyclegan arch), "
                                  f"arch '{arch}' has one")

    # --- data -------------------------------------------------------------
    def attach_data(self, a: torch.Tensor, b: torch.Tensor, seed: int) -> None:
        """Train on domain-A images `a` and domain-B images `b` (uint8 NCHW, paired when the model needs pairs).

        Paired batches when the model needs pairs, else independent A and B batches: a
        CycleGAN trained on a paired set never sees the pairing, so paired sets measure
        it as the papers do.
        """
        a, b = a.to(self.device), b.to(self.device)
        if self.needs_pairs:
            self.samplers = {"ab": BatchSampler(a, b, self.batch_size, seed)}
        else:
            self.samplers = {"a": BatchSampler(a, None, self.batch_size, seed),
                             "b": BatchSampler(b, None, self.batch_size, seed + 1_000_003)}

    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next (a, b) batch in model space."""
        assert self.samplers, "attach_data() first"
        if "ab" in self.samplers:
            a, b = self.samplers["ab"].next()
        else:
            a, _ = self.samplers["a"].next()
            b, _ = self.samplers["b"].next()
        return to_model_space(a), to_model_space(b)

    # --- one update -------------------------------------------------------
    def source(self, batch: TBatch, direction: str) -> torch.Tensor:
        """The input images of a direction (a for "ab", b for "ba")."""
        return batch.a if direction == "ab" else batch.b

    def target(self, batch: TBatch, direction: str) -> torch.Tensor:
        """The real images of the domain a direction translates into."""
        return batch.b if direction == "ab" else batch.a

    def d_input(self, batch: TBatch, direction: str, image: torch.Tensor) -> torch.Tensor:
        """What D of `direction` sees for `image`: concat(input, image) for a conditional D (pix2pix), else the image."""
        return torch.cat([self.source(batch, direction), image], dim=1) if self.conditional else image

    def d_step(self, batch: TBatch) -> dict[str, torch.Tensor]:
        """One update of every discriminator on real target images vs detached translations (via the pool)."""
        stats: dict[str, torch.Tensor] = {}
        total = torch.zeros((), device=self.device)
        for k in self.directions:
            real = self.d_input(batch, k, self.target(batch, k))
            fake = self.d_input(batch, k, batch.fake[k].detach())
            for t in self.terms:
                fake = t.d_fake(self, k, fake)
            out_real, out_fake = self.d[k](real), self.d[k](fake)
            loss = self.loss.d(out_real.logits, out_fake.logits, self.hooks.d_targets(self, len(real)))
            total = total + loss
            stats[f"loss_d_{k}"] = loss.detach()
            stats[f"d_real_{k}"] = out_real.logits.detach().mean()
            stats[f"d_fake_{k}"] = out_fake.logits.detach().mean()
        zero_grad(self.opt_d)
        total.backward()
        self.hooks.call("before_d_optim", self)
        optimizer_step(self.opt_d)
        self.hooks.call("after_d_step", self)
        stats["loss_d"] = total.detach()
        return stats

    def g_step(self, batch: TBatch) -> dict[str, torch.Tensor]:
        """One update of every generator: adversarial losses through the frozen Ds + the tricks' terms."""
        self.d.requires_grad_(False)
        try:
            stats: dict[str, torch.Tensor] = {}
            adv = torch.zeros((), device=self.device)
            for k in self.directions:
                loss = self.loss.g(self.d[k](self.d_input(batch, k, batch.fake[k])).logits)
                adv = adv + loss
                stats[f"loss_g_{k}"] = loss.detach()
            terms: dict[str, torch.Tensor] = {}
            for t in self.terms:
                terms.update(t.g_terms(self, batch))
            total = adv + sum(terms.values()) if terms else adv
            zero_grad(self.opt_g)
            total.backward()
        finally:
            self.d.requires_grad_(True)
        self.hooks.call("before_g_optim", self)
        optimizer_step(self.opt_g)
        stats["loss_g"] = adv.detach()
        stats.update({f"g_{k}": v.detach() for k, v in terms.items()})
        return stats

    def iteration(self) -> dict[str, torch.Tensor]:
        """One D update and one G update; returns detached scalars (no host sync)."""
        self.g.train()
        self.d.train()
        a, b = self.real_batch()
        batch = TBatch(a=a, b=b, paired=self.needs_pairs)
        for k in self.directions:
            batch.fake[k] = self.g[k](self.source(batch, k))
        stats = self.d_step(batch)
        stats.update(self.g_step(batch))
        self.hooks.call("after_g_step", self)
        self.step += 1
        return stats

    # --- sampling & persistence ---------------------------------------------
    def sampling_generator(self) -> nn.Module:
        """The generators used to translate (EMA weights with the ema trick), in eval mode."""
        return self.hooks.sampling_generator(self.g).eval()

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume bit-exactly: nets, optimisers, tricks (pools, schedules), data order, RNGs, step."""
        return {
            "step": self.step,
            "g": self.g.state_dict(),
            "d": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "tricks": self.hooks.state_dict(),
            "sampler": {k: s.state_dict() for k, s in self.samplers.items()},
            "rng": rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any], restore_rng: bool = True) -> None:
        """Restore a `state_dict()`; `restore_rng=False` for sampling-only use."""
        self.step = int(state["step"])
        self.g.load_state_dict(state["g"])
        self.d.load_state_dict(state["d"])
        if self.opt_g is not None and self.opt_d is not None:
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
        self.hooks.load_state_dict(state["tricks"])
        for k, s in self.samplers.items():
            if k in state.get("sampler", {}):
                s.load_state_dict(state["sampler"][k])
        if restore_rng:
            set_rng_state(state["rng"])


def build_translation_trainer(config: dict[str, Any], device: torch.device | str, optimizers: bool = True) -> TranslationTrainer:
    """A TranslationTrainer for a resolved config, with its dataset's spec (`optimizers=False`: for sampling)."""
    from gangrid.translation.data import translation_spec

    return TranslationTrainer(config, translation_spec(config["run"]["dataset"]), device, optimizers)


def translation_fresh(config: dict[str, Any], device: torch.device | str, dataset: str, seed: int) -> Callable[[], TranslationTrainer]:
    """For `gangrid.stages.train.train_run`: a function building the run's trainer at step 0 on its train split
    (seeded exactly as an uninterrupted run; the split is read once)."""
    split = load_translation(dataset, "train", mmap=False)
    a = torch.from_numpy(np.ascontiguousarray(split.a))
    b = torch.from_numpy(np.ascontiguousarray(split.b))

    def fresh() -> TranslationTrainer:
        seed_everything(seed)
        trainer = build_translation_trainer(config, device)
        trainer.attach_data(a, b, seed=seed)
        return trainer

    return fresh
