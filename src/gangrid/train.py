"""The one GAN training loop. Tricks change it only through the hooks of gangrid.tricks."""

from __future__ import annotations

import inspect
import math
import random
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from gangrid.errors import ConfigError
from gangrid.losses import get_loss
from gangrid.nets import DataSpec, build_nets
from gangrid.tricks import DBatch, GBatch, Hooks, build_tricks

LogFn = Callable[[int, dict[str, float]], None]


def pick_device(name: str = "auto") -> torch.device:
    """`auto` -> CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) RNGs."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every RNG state a resumed run needs, as tensors/ints (safe for weights_only loading)."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": list(random.getstate()[1]),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the RNG states saved by `rng_state`."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    random.setstate((3, tuple(state["python"]), None))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def sample_latent(g: nn.Module, n: int, z_dim: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
    """n latent vectors: `g.sample_latent(n, generator)` when the generator defines its prior
    (structured codes), else standard normal noise of size z_dim (drawn on the CPU when a
    generator is given, so sampling is identical on every device)."""
    if hasattr(g, "sample_latent"):
        return g.sample_latent(n, generator).to(device)
    if generator is not None:
        return torch.randn(n, z_dim, generator=generator).to(device)
    return torch.randn(n, z_dim, device=device)


class BatchSampler:
    """Mini-batches from an in-memory tensor, one fixed-seed permutation per epoch (drop last)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None, batch_size: int, seed: int) -> None:
        self.x, self.y = x, y
        self.batch_size = min(batch_size, len(x))
        self.generator = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(len(x), generator=self.generator)
        self.pos = 0

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next batch (x, y) on the data's device."""
        if self.pos + self.batch_size > len(self.perm):
            self.perm = torch.randperm(len(self.x), generator=self.generator)
            self.pos = 0
        idx = self.perm[self.pos : self.pos + self.batch_size].to(self.x.device)
        self.pos += self.batch_size
        return self.x[idx], (self.y[idx] if self.y is not None else None)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), "perm": self.perm, "pos": self.pos}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self.perm, self.pos = state["perm"], int(state["pos"])


def _without_dynamo_markers() -> None:
    """Keep eager-mode optimisers from importing torch._dynamo (0.8 s, every stage process).

    torch wraps Optimizer methods so that torch.compile will not trace them; the
    wrapper imports torch._dynamo on its first call just to build that marker.
    gangrid never compiles optimiser code, so the marker is pre-resolved to the
    plain method (behaviour unchanged; if torch's wrapper changes, nothing breaks,
    it is only slower). `optimizer_step` below does the same for `step`.
    """
    for name in ("add_param_group", "zero_grad", "state_dict", "load_state_dict"):
        raw = getattr(getattr(torch.optim.Optimizer, name, None), "__wrapped__", None)
        if raw is not None and not hasattr(raw, "__dynamo_disable"):
            setattr(raw, "__dynamo_disable", raw)


def optimizer_step(opt: torch.optim.Optimizer) -> None:
    """`opt.step()` in eager mode: the update itself, without torch's compile/profiling wrappers
    (which import torch._dynamo); no step hooks are used in gangrid."""
    with torch.no_grad():
        inspect.unwrap(type(opt).step)(opt)


def zero_grad(opt: torch.optim.Optimizer) -> None:
    """Drop the gradients of every parameter of `opt` (set_to_none semantics)."""
    for group in opt.param_groups:
        for p in group["params"]:
            p.grad = None


def make_optimizer(params: Any, name: str, lr: float, betas: list[float]) -> torch.optim.Optimizer:
    """Adam (fused kernel: one op for all parameters) / RMSprop / SGD (foreach kernels)."""
    _without_dynamo_markers()
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=betas[0], foreach=True)
    raise ValueError(name)


class Trainer:
    """Holds G, D, their optimisers, the loss and the tricks; `iteration()` is one GAN update.

    One iteration = n_critic discriminator steps then one generator step. The
    fake batch of the last D step is generated with grad and reused by the G
    step (one G forward per iteration), and D's weights are frozen during the
    G backward.
    """

    def __init__(self, config: dict[str, Any], data: DataSpec, device: torch.device | str = "cpu",
                 optimizers: bool = True) -> None:
        self.config = config
        self.data = data
        self.device = torch.device(device)
        train = config["train"]
        self.batch_size = int(train["batch_size"])
        self.z_dim = int(train["z_dim"])
        self.n_critic = int(train.get("n_critic", 1))
        self.hooks = Hooks(build_tricks(config["tricks"], f"tricks of run {config['run']['name']}"))
        arch_cfg = {**config["arch"], "z_dim": self.z_dim, **self.hooks.arch_overrides()}
        g, d = build_nets(arch_cfg, data, key=f"archs.{config['arch']['name']}")
        try:
            g, d = self.hooks.wrap_nets(g, d)
        except ConfigError as exc:
            run = config["run"]
            raise ConfigError(f"tricks.{run['trick']} on archs.{run['arch']} (run {run['study']}/{run['name']}): {exc}") from None
        # channels_last: NHWC convolutions (oneDNN on CPU, tensor cores on GPU) are 15-25% faster here
        self.channels_last = data.kind == "image" and train.get("memory_format", "channels_last") == "channels_last"
        fmt = torch.channels_last if self.channels_last else torch.preserve_format
        self.g: nn.Module = g.to(self.device, memory_format=fmt)
        self.d: nn.Module = d.to(self.device, memory_format=fmt)
        self.amp_dtype = {"fp32": None, "bf16": torch.bfloat16}[train.get("precision", "fp32")]
        self.loss = get_loss(config["loss"]["fn"], f"losses.{config['loss']['name']}.fn")
        self.opt_g: torch.optim.Optimizer | None = None
        self.opt_d: torch.optim.Optimizer | None = None
        if optimizers:  # sampling needs none (and constructing one costs torch a 0.8 s import of torch._dynamo)
            self.opt_g = make_optimizer(self.g.parameters(), train["optimizer"], train["lr_g"], train["betas"])
            self.opt_d = make_optimizer(self.d.parameters(), train["optimizer"], train["lr_d"], train["betas"])
        self.step = 0
        self.sampler: BatchSampler | None = None
        self.last_real: torch.Tensor | None = None
        self.hooks.call("setup", self)

    # --- data -------------------------------------------------------------
    def attach_data(self, x: torch.Tensor, y: torch.Tensor | None, seed: int) -> None:
        """Use (x, y) (model-space tensors) as the training set."""
        self.sampler = BatchSampler(x.to(self.device), None if y is None else y.to(self.device), self.batch_size, seed)

    def sample_z(self, n: int) -> torch.Tensor:
        """Latent batch: the generator's own prior (`G.sample_latent`, e.g. InfoGAN codes) or N(0, I)."""
        return sample_latent(self.g, n, self.z_dim, self.device)

    def sample_labels(self, n: int) -> torch.Tensor | None:
        if not self.data.n_classes:
            return None
        return torch.randint(self.data.n_classes, (n,), device=self.device)

    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        assert self.sampler is not None, "attach_data() first"
        x, y = self.sampler.next()
        if x.dtype == torch.uint8:
            x = (x.float() - 127.5) / 127.5
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        self.last_real = x
        return x, y

    def autocast(self) -> torch.autocast:
        """Mixed-precision context of the forward passes (`train.precision: bf16`; a no-op for fp32)."""
        return torch.autocast(self.device.type, dtype=self.amp_dtype or torch.bfloat16, enabled=self.amp_dtype is not None)

    # --- one update -------------------------------------------------------
    def d_step(self, fake: torch.Tensor | None = None, y_fake: torch.Tensor | None = None,
               z: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """One discriminator update on a real batch and `fake` (a fresh no-grad batch if None).

        `z`, the latent batch that generated `fake`, reaches the tricks as
        `DBatch.extras["z"]` (InfoGAN's Q loss needs the codes in the D step).
        """
        real, y_real = self.real_batch()
        with self.autocast():
            if fake is None:
                y_fake = self.sample_labels(len(real))
                z = self.sample_z(len(real))
                with torch.no_grad():
                    fake = self.g(z, y_fake)
            real_in, fake_in = self.hooks.d_inputs(self, real, fake.detach())
            out_real = self.d(real_in, y_real)
            out_fake = self.d(fake_in, y_fake)
            targets = self.hooks.d_targets(self, len(real_in))
            loss = self.loss.d(out_real.logits.float(), out_fake.logits.float(), targets)
            batch = DBatch(real_in, fake_in, out_real.logits, out_fake.logits, out_real.features, out_fake.features, y_real,
                           y_fake, extras={"z": z} if z is not None else {})
            terms = self.hooks.d_penalties(self, batch)
            total = loss + sum(terms.values()) if terms else loss
        zero_grad(self.opt_d)
        total.backward()
        self.hooks.call("before_d_optim", self)
        optimizer_step(self.opt_d)
        self.hooks.call("after_d_step", self)
        return {"loss_d": loss.detach(), "d_real": out_real.logits.detach().mean(), "d_fake": out_fake.logits.detach().mean(),
                **{f"d_{k}": v.detach() for k, v in terms.items()}}

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
        stats.update(self.g_step(fake, z, y_fake))
        self.hooks.call("after_g_step", self)
        self.step += 1
        return stats

    # --- sampling & persistence ---------------------------------------------
    def sampling_generator(self) -> nn.Module:
        """The generator used for samples (EMA weights when the ema trick is on), in eval mode."""
        return self.hooks.sampling_generator(self.g).eval()

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume bit-exactly: nets, optimisers, tricks, data order, RNGs, step."""
        return {
            "step": self.step,
            "g": self.g.state_dict(),
            "d": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "tricks": self.hooks.state_dict(),
            "sampler": self.sampler.state_dict() if self.sampler is not None else {},
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
        if self.sampler is not None and state.get("sampler"):
            self.sampler.load_state_dict(state["sampler"])
        if restore_rng:
            set_rng_state(state["rng"])


def all_finite(values: dict[str, torch.Tensor]) -> bool:
    """True when every logged scalar is finite (one host sync for all of them)."""
    if not values:
        return True
    return bool(torch.isfinite(torch.stack([v.float() for v in values.values()])).all())


def params_finite(module: nn.Module) -> bool:
    """True when every parameter of `module` is finite."""
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())


def to_floats(stats: dict[str, torch.Tensor]) -> dict[str, float]:
    """Detached scalar tensors -> Python floats (NaN-safe)."""
    out = {}
    for k, v in stats.items():
        f = float(v)
        out[k] = f if math.isfinite(f) else float("nan")
    return out
