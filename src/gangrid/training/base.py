"""The contract every trainer keeps, and the pieces all of them share.

`Trainer` holds a generator side `g` and a discriminator side `d` (modules, or
ModuleDicts of several nets), their optimisers, the loss, the tricks and the training
data samplers; a subclass supplies `build_nets()` and `iteration()` (one update). The
training loop (gangrid.training.loop) drives any trainer through this contract:

  step, iteration() -> {name: detached scalar tensor}   one update, no host sync
  state_dict() / load_state_dict(state, restore_rng)    resume bit-exactly
  sampling_generator()                                   the nets to sample with (EMA weights)
  record(stats)                                          keep a step's values on the device (no host sync)
  first_nonfinite(), divergence(stats), failure_divergence(exc)   NaN/inf detection
  grad_norms()                                           L2 norms of G's and D's last gradients (for the log)
"""

from __future__ import annotations

import inspect
import math
import re
from typing import Any

import torch
from torch import nn

from gangrid.errors import ConfigError
from gangrid.losses import get_loss
from gangrid.nets import DataSpec
from gangrid.runtime import rng_state, set_rng_state
from gangrid.tricks import Hooks, Trick, build_tricks


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
        """Where the sampler stands: its generator, the epoch's permutation and the position in it."""
        return {"generator": self.generator.get_state(), "perm": self.perm, "pos": self.pos}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a `state_dict()`."""
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


COMPILE_MODES = {"off": None, "on": {}, "cudagraphs": {"mode": "reduce-overhead"}}


def compile_nets(nets: list[nn.Module], setting: str | bool | None) -> None:
    """Compile the nets' forward passes in place as `train.compile` asks (`off` | `on` | `cudagraphs`: CUDA graphs,
    for small nets whose step is launch-bound); their state dicts, hence checkpoints, are unchanged."""
    key = {False: "off", None: "off", True: "on"}.get(setting, setting)  # type: ignore[arg-type]
    if key not in COMPILE_MODES:
        raise ConfigError(f"train.compile: unknown value '{setting}' (known: {', '.join(COMPILE_MODES)})")
    kwargs = COMPILE_MODES[key]
    if kwargs is None:
        return
    for net in nets:
        net.compile(**kwargs)


def all_finite(values: dict[str, torch.Tensor]) -> bool:
    """True when every logged scalar is finite (one host sync for all of them)."""
    if not values:
        return True
    return bool(torch.isfinite(torch.stack([v.float() for v in values.values()])).all())


def grad_norm(module: nn.Module) -> torch.Tensor:
    """The L2 norm of all gradients held by `module`'s parameters (0 when none has one)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads, 2.0)


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


class Trainer:
    """The shared half of every trainer: config, data spec, device, tricks, nets, loss, optimisers,
    samplers, step; checkpoint state and NaN/inf detection. Subclasses build the nets and define
    one update (`iteration`).

    Construction order (it fixes the RNG draws, hence results): tricks, nets (built, wrapped
    by the tricks, moved to the device), loss, optimisers, then the tricks' `setup`.
    """

    def __init__(self, config: dict[str, Any], data: DataSpec, device: torch.device | str = "cpu",
                 optimizers: bool = True) -> None:
        self.config = config
        self.data = data
        self.device = torch.device(device)
        train = config["train"]
        self.batch_size = int(train["batch_size"])
        run = config["run"]
        tricks = build_tricks(config["tricks"], f"tricks of run {run['name']}")
        self.check_tricks(tricks)
        self.hooks = Hooks(tricks)
        g, d = self.build_nets()
        try:
            g, d = self.hooks.wrap_nets(g, d)
        except ConfigError as exc:
            raise ConfigError(f"tricks.{run['trick']} on archs.{run['arch']} (run {run['study']}/{run['name']}): {exc}") from None
        fmt = self.memory_format()
        self.g: nn.Module = g.to(self.device, memory_format=fmt)
        self.d: nn.Module = d.to(self.device, memory_format=fmt)
        self.check_model()
        compile_nets([self.g, self.d], train.get("compile", "off"))
        self.loss = get_loss(config["loss"]["fn"], f"losses.{config['loss']['name']}.fn")
        self.opt_g: torch.optim.Optimizer | None = None
        self.opt_d: torch.optim.Optimizer | None = None
        if optimizers:  # sampling needs none (and constructing one costs torch a 0.8 s import of torch._dynamo)
            self.opt_g = make_optimizer(self.g.parameters(), train["optimizer"], train["lr_g"], train["betas"])
            self.opt_d = make_optimizer(self.d.parameters(), train["optimizer"], train["lr_d"], train["betas"])
        self.step = 0
        self.recorded: list[tuple[int, tuple[str, ...], torch.Tensor]] = []  # see `record`
        self.samplers: dict[str, BatchSampler] = {}
        self.hooks.call("setup", self)

    # --- what a subclass supplies ---------------------------------------------
    def build_nets(self) -> tuple[nn.Module, nn.Module]:
        """(G side, D side) as the arch preset defines them, before the tricks wrap them."""
        raise NotImplementedError

    def iteration(self) -> dict[str, torch.Tensor]:
        """One update; returns detached scalar tensors (no host sync)."""
        raise NotImplementedError

    def check_tricks(self, tricks: list[Trick]) -> None:
        """ConfigError for a trick this trainer cannot run (default: every trick runs)."""
        return None

    def optimizers(self) -> list[tuple[torch.optim.Optimizer, str]]:
        """Every optimiser of the trainer with the side whose base rate it runs at ('g': train.lr_g, 'd': lr_d)."""
        return [(opt, side) for opt, side in ((self.opt_g, "g"), (self.opt_d, "d")) if opt is not None]

    def check_model(self) -> None:
        """ConfigError for nets that do not fit the data or the tricks (default: none)."""
        return None

    def memory_format(self) -> torch.memory_format:
        """The memory format of the nets (default: as built)."""
        return torch.preserve_format

    # --- sampling & persistence -------------------------------------------------
    def sampling_generator(self) -> nn.Module:
        """The generator side used for samples (EMA weights with the ema trick), in eval mode."""
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
        saved = state.get("sampler") or {}
        for k, s in self.samplers.items():
            if k in saved:
                s.load_state_dict(saved[k])
        if restore_rng:
            set_rng_state(state["rng"])

    # --- logging ------------------------------------------------------------------
    def grad_norms(self) -> dict[str, torch.Tensor]:
        """L2 norms of the gradients of G's and D's last updates: `grad_norm_g`, `grad_norm_d`."""
        return {"grad_norm_g": grad_norm(self.g), "grad_norm_d": grad_norm(self.d)}

    # --- divergence -------------------------------------------------------------
    def record(self, stats: dict[str, torch.Tensor]) -> None:
        """Keep the values `iteration()` returned for the current step, on the device (no host sync),
        so `first_nonfinite` can name the step a run diverged at, not the next check's step."""
        values = torch.stack([(v if v.dim() == 0 else v.sum()).float() for v in stats.values()])
        self.recorded.append((self.step, tuple(stats), values))

    def first_nonfinite(self) -> tuple[int, dict[str, torch.Tensor]] | None:
        """(step, values) of the first recorded step with a NaN/inf value, or None; one host sync.
        The record is emptied: each check scans the steps since the previous one."""
        recorded, self.recorded = self.recorded, []
        if not recorded:
            return None
        finite = torch.stack([torch.isfinite(v).all() for _, _, v in recorded]).tolist()
        if all(finite):
            return None
        step, names, values = recorded[finite.index(False)]
        return step, dict(zip(names, values.unbind()))

    def divergence(self, stats: dict[str, torch.Tensor]) -> str | None:
        """Why the run has diverged (which losses or nets became NaN/inf), or None while all is finite."""
        if not all_finite(stats):
            bad = [k for k, v in stats.items() if not bool(torch.isfinite(v).all())]
            return f"non-finite {', '.join(bad)}"
        for name, net in (("G", self.g), ("D", self.d)):
            if not params_finite(net):
                return f"non-finite parameters in {name}"
        return None

    def failure_divergence(self, exc: RuntimeError) -> str | None:
        """The divergence behind an error raised by an update (an op refusing NaN/inf input), or None for other errors."""
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        for name, net in (("G", self.g), ("D", self.d)):
            if not params_finite(net):
                return f"non-finite parameters in {name} ({text})"
        if re.search(r"\b(nan|inf|infinity)\b", text, re.IGNORECASE):
            return f"non-finite values ({text})"
        return None
