"""The GAN trainer: one iteration = n_critic discriminator steps, then one generator step.

Tricks change it only through the hooks of gangrid.tricks; the checkpoint, resume and
divergence contract comes from gangrid.training.base.Trainer.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gangrid.nets import DataSpec, build_nets
from gangrid.training.base import BatchSampler, Trainer, optimizer_step, zero_grad
from gangrid.tricks import DBatch, GBatch


def sample_latent(g: nn.Module, n: int, z_dim: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
    """n latent vectors: `g.sample_latent(n, generator)` when the generator defines its prior
    (structured codes), else standard normal noise of size z_dim (drawn on the CPU when a
    generator is given, so sampling is identical on every device)."""
    if hasattr(g, "sample_latent"):
        return g.sample_latent(n, generator).to(device)
    if generator is not None:
        return torch.randn(n, z_dim, generator=generator).to(device)
    return torch.randn(n, z_dim, device=device)


class GanTrainer(Trainer):
    """Holds G, D, their optimisers, the loss and the tricks; `iteration()` is one GAN update.

    One iteration = n_critic discriminator steps then one generator step. The
    fake batch of the last D step is generated with grad and reused by the G
    step (one G forward per iteration), and D's weights are frozen during the
    G backward.
    """

    def __init__(self, config: dict[str, Any], data: DataSpec, device: torch.device | str = "cpu",
                 optimizers: bool = True) -> None:
        train = config["train"]
        self.z_dim = int(train["z_dim"])
        self.n_critic = int(train.get("n_critic", 1))
        # channels_last: NHWC convolutions (oneDNN on CPU, tensor cores on GPU) are 15-25% faster here
        self.channels_last = data.kind == "image" and train.get("memory_format", "channels_last") == "channels_last"
        self.amp_dtype = {"fp32": None, "bf16": torch.bfloat16}[train.get("precision", "fp32")]
        self.last_real: torch.Tensor | None = None
        self.last_y: torch.Tensor | None = None
        super().__init__(config, data, device, optimizers)

    def build_nets(self) -> tuple[nn.Module, nn.Module]:
        """G and D of the arch preset, with the overrides the tricks ask for (PacGAN's pack, ...)."""
        arch_cfg = {**self.config["arch"], "z_dim": self.z_dim, **self.hooks.arch_overrides()}
        return build_nets(arch_cfg, self.data, key=f"archs.{self.config['arch']['name']}")

    def memory_format(self) -> torch.memory_format:
        """channels_last for image nets (`train.memory_format`), else as built."""
        return torch.channels_last if self.channels_last else torch.preserve_format

    @property
    def sampler(self) -> BatchSampler | None:
        """The sampler of the training set (None before `attach_data`)."""
        return self.samplers.get("x")

    # --- data -------------------------------------------------------------
    def attach_data(self, x: torch.Tensor, y: torch.Tensor | None, seed: int) -> None:
        """Use (x, y) (model-space tensors) as the training set."""
        self.samplers = {"x": BatchSampler(x.to(self.device), None if y is None else y.to(self.device), self.batch_size, seed)}

    def sample_z(self, n: int) -> torch.Tensor:
        """Latent batch: the generator's own prior (`G.sample_latent`, e.g. InfoGAN codes) or N(0, I)."""
        return sample_latent(self.g, n, self.z_dim, self.device)

    def sample_labels(self, n: int) -> torch.Tensor | None:
        """Uniform class labels for a conditional model's fakes (None for unconditional data)."""
        if not self.data.n_classes:
            return None
        return torch.randint(self.data.n_classes, (n,), device=self.device)

    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next real batch in model space (channels_last for images), remembered as `last_real`, `last_y`."""
        assert self.sampler is not None, "attach_data() first"
        x, y = self.sampler.next()
        if x.dtype == torch.uint8:
            x = (x.float() - 127.5) / 127.5
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        self.last_real, self.last_y = x, y
        return x, y

    def autocast(self) -> torch.autocast:
        """Mixed-precision context of the forward passes (`train.precision: bf16`; a no-op for fp32)."""
        return torch.autocast(self.device.type, dtype=self.amp_dtype or torch.bfloat16, enabled=self.amp_dtype is not None)

    # --- one update -------------------------------------------------------
    def d_step(self, fake: torch.Tensor | None = None, y_fake: torch.Tensor | None = None,
               z: torch.Tensor | None = None,
               real: tuple[torch.Tensor, torch.Tensor | None] | None = None) -> dict[str, torch.Tensor]:
        """One discriminator update on a real batch (the next one, or `real` = (x, y)) and `fake`
        (a fresh no-grad batch if None).

        `z`, the latent batch that generated `fake`, reaches the tricks as
        `DBatch.extras["z"]` (InfoGAN's Q loss needs the codes in the D step).
        """
        x, y_real = real if real is not None else self.real_batch()
        if fake is None:
            with self.autocast():
                y_fake = self.sample_labels(len(x))
                z = self.sample_z(len(x))
                with torch.no_grad():
                    fake = self.g(z, y_fake)
        total, stats = self.d_loss(x, y_real, fake.detach(), y_fake, z)
        zero_grad(self.opt_d)
        total.backward()
        self.hooks.call("before_d_optim", self)
        optimizer_step(self.opt_d)
        self.hooks.call("after_d_step", self)
        return stats

    def d_loss(self, real: torch.Tensor, y_real: torch.Tensor | None, fake: torch.Tensor, y_fake: torch.Tensor | None,
               z: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's objective on (real, fake) through the tricks' D hooks: (loss + penalties, detached stats).
        `fake` keeps its graph to G if it has one (the unrolled GAN differentiates through D's updates)."""
        with self.autocast():
            real_in, fake_in = self.hooks.d_inputs(self, real, fake)
            out_real = self.d(real_in, y_real)
            out_fake = self.d(fake_in, y_fake)
            targets = self.hooks.d_targets(self, len(real_in))
            loss = self.loss.d(out_real.logits.float(), out_fake.logits.float(), targets)
            batch = DBatch(real_in, fake_in, out_real.logits, out_fake.logits, out_real.features, out_fake.features, y_real,
                           y_fake, extras={"z": z} if z is not None else {})
            terms = self.hooks.d_penalties(self, batch)
            total = loss + sum(terms.values()) if terms else loss
        return total, {"loss_d": loss.detach(), "d_real": out_real.logits.detach().mean(),
                       "d_fake": out_fake.logits.detach().mean(), **{f"d_{k}": v.detach() for k, v in terms.items()}}

    def _d_params(self) -> list[torch.nn.Parameter]:
        """D's trainable parameters, cached (freezing them for the G backward is then a flat loop)."""
        if getattr(self, "_d_param_cache", None) is None:
            self._d_param_cache = [p for p in self.d.parameters() if p.requires_grad]
        return self._d_param_cache

    def g_step(self, fake: torch.Tensor, z: torch.Tensor, y_fake: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """One generator update through the (frozen) discriminator."""
        d_params = self._d_params()
        for p in d_params:
            p.requires_grad_(False)
        try:
            with self.autocast():
                fake_in = self.hooks.g_inputs(self, fake)
                out = self.d(fake_in, y_fake)
                loss = self.loss.g(out.logits.float())
                batch = GBatch(fake_in, out.logits, out.features, z, y_fake, self.last_real)
                terms = self.hooks.g_penalties(self, batch)
                if not self.hooks.g_adversarial:  # a trick's terms are G's whole loss (feature matching)
                    total = sum(terms.values())
                else:
                    total = loss + sum(terms.values()) if terms else loss
            zero_grad(self.opt_g)
            total.backward()
        finally:
            for p in d_params:
                p.requires_grad_(True)
        self.hooks.call("before_g_optim", self)
        optimizer_step(self.opt_g)
        return {"loss_g": loss.detach(), **{f"g_{k}": v.detach() for k, v in terms.items()}}

    def iteration(self) -> dict[str, torch.Tensor]:
        """n_critic D steps and one G step; returns detached scalars (no host sync)."""
        if not (self.g.training and self.d.training):  # .train() walks every module: only after sampling
            self.g.train()
            self.d.train()
        for _ in range(self.n_critic - 1):
            stats = self.d_step()
        z = self.sample_z(self.batch_size)
        y_fake = self.sample_labels(self.batch_size)
        with self.autocast():
            fake = self.g(z, y_fake)
        stats = self.d_step(fake, y_fake, z)
        self.hooks.call("before_g_step", self)
        with self.hooks.g_step_context(self, fake, z, y_fake):  # the D the G step is taken against (unrolled GAN)
            stats.update(self.g_step(fake, z, y_fake))
        self.hooks.call("after_g_step", self)
        stats.update(self.hooks.log_values(self))
        self.step += 1
        return stats
