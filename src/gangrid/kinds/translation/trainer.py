"""The translation trainer: pix2pix and CycleGAN updates on the contract of `gangrid.training.base.Trainer`.

One iteration: every generator translates its batch once (with grad); one update of
all discriminators on real target-domain images vs the detached translations (through
the image pool); then one update of all generators through the frozen discriminators:
adversarial loss of each direction + the objective terms of the translation tricks
(l1_target, cycle, identity). pix2pix's discriminator sees concat(input, image); a
CycleGAN discriminator sees the image alone. Both optimisers hold all nets of their
side (G and F share one Adam, D_A and D_B another), as in the reference implementation.

The checkpoint, resume and divergence contract is `gangrid.training.base.Trainer`'s, so the
training loop, logging and checkpointing are shared with the GAN trainer.
GAN tricks whose hooks this loop calls keep working (lr_schedule, grad_clip, ema,
spectral_norm, label smoothing, weight clipping); tricks with other hooks are refused.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gangrid.errors import ConfigError
from gangrid.nets import DataSpec, build_nets
from gangrid.nets.translation import TRANSLATION_FAMILIES
from gangrid.training.base import BatchSampler, Trainer, optimizer_step, zero_grad
from gangrid.tricks import Trick, overrides
from gangrid.tricks.translation import TBatch, TranslationTrick

# Hooks of gangrid.tricks that the translation loop calls (with the same meaning as in the GAN loop).
SUPPORTED_HOOKS = ("setup", "wrap_nets", "d_targets", "before_d_optim", "after_d_step", "before_g_optim",
                   "after_g_step", "sampling_generator")
UNSUPPORTED_HOOKS = ("arch_overrides", "d_inputs", "d_penalties", "before_g_step", "g_step_context", "g_inputs",
                     "g_penalties")
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


class TranslationTrainer(Trainer):
    """Holds the translation nets (`g`, `d`: nets keyed by direction), optimisers, loss and tricks."""

    is_translation = True

    def check_tricks(self, tricks: list[Trick]) -> None:
        """GAN tricks whose hooks this loop does not call are refused; the translation terms are kept."""
        check_tricks(tricks, self.config["run"]["name"])
        self.terms = [t for t in tricks if isinstance(t, TranslationTrick)]

    def build_nets(self) -> tuple[nn.Module, nn.Module]:
        """The generators and discriminators of a pix2pix or CycleGAN arch preset."""
        train, arch = self.config["train"], self.config["arch"]
        if arch["family"] not in TRANSLATION_FAMILIES:
            raise ConfigError(f"archs.{arch['name']}.family: '{arch['family']}' is not an image-to-image family "
                              f"(known: {', '.join(TRANSLATION_FAMILIES)})")
        if int(train.get("n_critic", 1)) != 1:
            raise ConfigError(f"train.n_critic: the translation loop takes one D step per G step (got {train['n_critic']})")
        g, d = build_nets(arch, self.data, key=f"archs.{arch['name']}")
        self.conditional = bool(getattr(d, "conditional", False))
        return g, d

    def check_model(self) -> None:
        """The data must be paired when the model compares with targets; two-way terms need two generators."""
        run, arch = self.config["run"]["name"], self.config["arch"]["name"]
        self.directions = list(self.g.keys())
        self.needs_pairs = self.conditional or any(t.needs_pairs for t in self.terms)
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
