"""The trainers of the encoder kind: AAE (Makhzani et al. 2016) and BiGAN / ALI (Donahue et al. 2017;
Dumoulin et al. 2017), on the contract of `gangrid.training.base.Trainer` (via the GAN trainer's data,
latent and autocast plumbing).

AAE, one iteration on a real batch x (the paper's two phases):
  reconstruction  E, Dec <- min ||Dec(E(x)) - x||^2 (mean squared error; optimiser `opt_g`)
  regularisation  D <- the run's loss on prior samples z ~ p(z) (real) vs codes E(x) (fake) (`opt_d`);
                  E <- the run's generator loss on D(E(x)) (its own optimiser `opt_e`, checkpointed)
BiGAN, one iteration on x and z ~ p(z):
  D     <- the run's loss on (x, E(x)) (real) vs (G(z), z) (fake)
  G, E  <- the same loss with the labels swapped, loss.d(D(G(z), z), D(x, E(x))) (the papers'
           "inverted labels": for the non-saturating loss -log D(G(z), z) - log(1 - D(x, E(x))))
Tricks: those whose hooks these loops call (spectral norm, label smoothing / noise on D's targets,
gradient clipping, weight clipping, EMA, learning-rate schedules); tricks that change D's inputs
or add loss terms through the GAN loop's hooks are refused.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from gangrid.errors import ConfigError
from gangrid.kinds.gan.trainer import GanTrainer
from gangrid.losses import Targets
from gangrid.training.base import make_optimizer, optimizer_step, zero_grad
from gangrid.tricks import Trick, overrides

UNSUPPORTED_HOOKS = ("arch_overrides", "d_inputs", "d_penalties", "before_g_step", "g_step_context", "g_inputs",
                     "g_penalties")


def check_encoder_tricks(tricks: list[Trick], run: str) -> None:
    """ConfigError for a trick whose hooks the encoder loops do not call."""
    for t in tricks:
        bad = [h for h in UNSUPPORTED_HOOKS if overrides(t, h)]
        if bad:
            raise ConfigError(f"tricks of run {run}: '{t.name}' changes the GAN loop through {', '.join(bad)}, "
                              f"which the encoder kind's loops do not call")


def inverted_loss(loss: Any, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """BiGAN's objective for G and E: D's loss with the roles swapped, (G(z), z) labelled real and (x, E(x)) fake."""
    return loss.d(fake_logits, real_logits, Targets())


class EncoderTrainer(GanTrainer):
    """What AAE and BiGAN share: trick checks, a frozen-D context, one update per iteration."""

    def check_tricks(self, tricks: list[Trick]) -> None:
        """Refuse tricks these loops do not call."""
        check_encoder_tricks(tricks, self.config["run"]["name"])

    def d_update(self, loss: torch.Tensor) -> None:
        """Backward and step of D, with the tricks' D-optimiser hooks."""
        zero_grad(self.opt_d)
        loss.backward()
        self.hooks.call("before_d_optim", self)
        optimizer_step(self.opt_d)
        self.hooks.call("after_d_step", self)

    def frozen_d(self) -> "_FrozenD":
        """A context in which D's parameters take no gradient."""
        return _FrozenD(self.d)


class _FrozenD:
    def __init__(self, d: torch.nn.Module) -> None:
        self.params = [p for p in d.parameters() if p.requires_grad]

    def __enter__(self) -> None:
        for p in self.params:
            p.requires_grad_(False)

    def __exit__(self, *exc: Any) -> None:
        for p in self.params:
            p.requires_grad_(True)


class AaeTrainer(EncoderTrainer):
    """Adversarial auto-encoder: reconstruction phase, then D on the codes, then E as D's generator."""

    def __init__(self, config: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.opt_e: torch.optim.Optimizer | None = None
        if self.opt_g is not None:
            train = config["train"]
            self.opt_e = make_optimizer(self.g.encoder.parameters(), train["optimizer"], train["lr_g"], train["betas"])

    def optimizers(self) -> list[tuple[torch.optim.Optimizer, str]]:
        """G's reconstruction optimiser, D's, and the encoder's adversarial one (at G's rate)."""
        opt_e = getattr(self, "opt_e", None)  # the base class's setup hooks run before it exists
        return [*super().optimizers(), *([(opt_e, "g")] if opt_e is not None else [])]

    def iteration(self) -> dict[str, torch.Tensor]:
        """One reconstruction and one regularisation update; detached scalars."""
        self.g.train()
        self.d.train()
        x, _ = self.real_batch()
        with self.autocast():
            rec = self.g.decoder(self.g.encoder(x))
            loss_rec = F.mse_loss(rec.float(), x.float())
        zero_grad(self.opt_g)
        loss_rec.backward()
        self.hooks.call("before_g_optim", self)
        optimizer_step(self.opt_g)

        with self.autocast():
            prior = self.sample_z(len(x))
            with torch.no_grad():
                code = self.g.encoder(x)
            out_prior, out_code = self.d(prior), self.d(code)
            loss_d = self.loss.d(out_prior.logits.float(), out_code.logits.float(), self.hooks.d_targets(self, len(x)))
        self.d_update(loss_d)

        with self.frozen_d(), self.autocast():
            loss_e = self.loss.g(self.d(self.g.encoder(x)).logits.float())
        zero_grad(self.opt_e)
        loss_e.backward()
        optimizer_step(self.opt_e)
        self.hooks.call("after_g_step", self)
        stats = {"loss_rec": loss_rec.detach(), "loss_d": loss_d.detach(), "loss_g": loss_e.detach(),
                 "d_real": out_prior.logits.detach().mean(), "d_fake": out_code.logits.detach().mean()}
        stats.update(self.hooks.log_values(self))
        self.step += 1
        return stats

    def state_dict(self) -> dict[str, Any]:
        """The shared state plus the encoder's regularisation-phase optimiser."""
        return {**super().state_dict(), "opt_e": self.opt_e.state_dict()}

    def load_state_dict(self, state: dict[str, Any], restore_rng: bool = True) -> None:
        """Restore the shared state and the encoder's optimiser."""
        super().load_state_dict(state, restore_rng)
        if self.opt_e is not None:
            self.opt_e.load_state_dict(state["opt_e"])


class BiganTrainer(EncoderTrainer):
    """BiGAN / ALI: D on joint pairs, then G and E together with the labels swapped."""

    def iteration(self) -> dict[str, torch.Tensor]:
        """One D update and one G + E update; detached scalars."""
        self.g.train()
        self.d.train()
        x, _ = self.real_batch()
        z = self.sample_z(len(x))
        with self.autocast():
            with torch.no_grad():
                fake, code = self.g(z), self.g.encode(x)
            out_real, out_fake = self.d(x, code), self.d(fake, z)
            loss_d = self.loss.d(out_real.logits.float(), out_fake.logits.float(), self.hooks.d_targets(self, len(x)))
        self.d_update(loss_d)

        with self.frozen_d(), self.autocast():
            out_real_g, out_fake_g = self.d(x, self.g.encode(x)), self.d(self.g(z), z)
            loss_g = inverted_loss(self.loss, out_real_g.logits.float(), out_fake_g.logits.float())
        zero_grad(self.opt_g)
        loss_g.backward()
        self.hooks.call("before_g_optim", self)
        optimizer_step(self.opt_g)
        self.hooks.call("after_g_step", self)
        stats = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "d_real": out_real.logits.detach().mean(),
                 "d_fake": out_fake.logits.detach().mean()}
        stats.update(self.hooks.log_values(self))
        self.step += 1
        return stats


TRAINERS: dict[str, type[EncoderTrainer]] = {"aae": AaeTrainer, "bigan": BiganTrainer}
