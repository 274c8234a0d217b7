"""The SRGAN trainer (Ledig et al. 2017) on the contract of `gangrid.training.base.Trainer`.

One iteration on a batch of (LR, HR) pairs, SR = G(LR):
  SRResNet phase (the first `pretrain` fraction of train.steps): G <- min MSE(SR, HR); D is not trained
  SRGAN phase: D <- the run's loss on HR (real) vs SR (fake);
               G <- content_weight * content(SR, HR) + pixel_weight * MSE(SR, HR) + adv_weight * loss.g(D(SR))
(the paper: VGG54 content, adversarial weight 1e-3, initialised from SRResNet-MSE). Tricks: as the
encoder kind's loops, those whose hooks only touch optimisers, D's targets, the nets and sampling.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gangrid.errors import ConfigError
from gangrid.kinds.superres.content import content_features, content_loss
from gangrid.nets import DataSpec, build_nets
from gangrid.training.base import BatchSampler, Trainer, optimizer_step, zero_grad
from gangrid.tricks import Trick, overrides

UNSUPPORTED_HOOKS = ("arch_overrides", "d_inputs", "d_penalties", "before_g_step", "g_step_context", "g_inputs",
                     "g_penalties")


class SuperResTrainer(Trainer):
    """Holds SRResNet (g), the VGG-style D (d), their optimisers, the content extractor and the (LR, HR) sampler."""

    def __init__(self, config: dict[str, Any], data: DataSpec, factor: int, device: torch.device | str = "cpu",
                 optimizers: bool = True) -> None:
        self.factor = factor
        arch = config["arch"]
        self.pretrain_steps = int(float(arch.get("pretrain", 0.0)) * int(config["train"]["steps"]))
        self.weights = {k: float(arch.get(k, d)) for k, d in (("content_weight", 1.0), ("adv_weight", 1e-3), ("pixel_weight", 0.0))}
        super().__init__(config, data, device, optimizers)
        self.features = content_features(arch, config["run"]["dataset"], self.device) if optimizers else None

    def check_tricks(self, tricks: list[Trick]) -> None:
        """Refuse tricks whose hooks this loop does not call."""
        for t in tricks:
            bad = [h for h in UNSUPPORTED_HOOKS if overrides(t, h)]
            if bad:
                raise ConfigError(f"tricks of run {self.config['run']['name']}: '{t.name}' changes the GAN loop through "
                                  f"{', '.join(bad)}, which the super-resolution loop does not call")

    def build_nets(self) -> tuple[nn.Module, nn.Module]:
        """SRResNet for the dataset's factor and the discriminator at the HR size."""
        arch = self.config["arch"]
        return build_nets({**arch, "factor": self.factor}, self.data, key=f"archs.{arch['name']}")

    def attach_data(self, lr: torch.Tensor, hr: torch.Tensor, seed: int) -> None:
        """Train on paired uint8 LR inputs and HR targets."""
        self.samplers = {"pairs": BatchSampler(lr.to(self.device), hr.to(self.device), self.batch_size, seed)}

    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next (LR, HR) batch in model space [-1, 1]."""
        lr, hr = self.samplers["pairs"].next()
        assert hr is not None
        return (lr.float() - 127.5) / 127.5, (hr.float() - 127.5) / 127.5

    def iteration(self) -> dict[str, torch.Tensor]:
        """One SRResNet update, or one D and one G update of SRGAN; detached scalars."""
        self.g.train()
        self.d.train()
        lr, hr = self.real_batch()
        sr = self.g(lr)
        zero = torch.zeros((), device=self.device)
        stats = {"loss_d": zero, "d_real": zero, "d_fake": zero, "loss_adv": zero}
        if self.step < self.pretrain_steps:
            loss_g = F.mse_loss(sr, hr)
            stats["loss_content"] = loss_g.detach()
        else:
            out_real, out_fake = self.d(hr), self.d(sr.detach())
            loss_d = self.loss.d(out_real.logits, out_fake.logits, self.hooks.d_targets(self, len(hr)))
            zero_grad(self.opt_d)
            loss_d.backward()
            self.hooks.call("before_d_optim", self)
            optimizer_step(self.opt_d)
            self.hooks.call("after_d_step", self)
            self.d.requires_grad_(False)
            try:
                adv = self.loss.g(self.d(sr).logits)
            finally:
                self.d.requires_grad_(True)
            content = content_loss(self.features, sr, hr)
            w = self.weights
            loss_g = w["content_weight"] * content + w["adv_weight"] * adv
            if w["pixel_weight"]:
                loss_g = loss_g + w["pixel_weight"] * F.mse_loss(sr, hr)
            stats.update(loss_d=loss_d.detach(), d_real=out_real.logits.detach().mean(),
                         d_fake=out_fake.logits.detach().mean(), loss_adv=adv.detach(), loss_content=content.detach())
        zero_grad(self.opt_g)
        loss_g.backward()
        self.hooks.call("before_g_optim", self)
        optimizer_step(self.opt_g)
        self.hooks.call("after_g_step", self)
        stats["loss_g"] = loss_g.detach()
        stats.update(self.hooks.log_values(self))
        self.step += 1
        return stats
