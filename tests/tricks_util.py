"""Helpers for the loss/trick tests: tiny resolved configs and trainers on CPU."""

from __future__ import annotations

import copy
from typing import Any

import torch

from gangrid.config import RunSpec, load_params, resolve_run
from gangrid.nets import DataSpec
from gangrid.kinds.gan.trainer import GanTrainer

from conftest import REPO

PARAMS = load_params(REPO / "params.yaml")
DATA = {"mlp2d": DataSpec("points", (2,)), "dcgan16": DataSpec("image", (1, 16, 16), 10)}
TINY_ARCH = {"mlp2d": {"hidden": 16}, "dcgan16": {"base": 8}}


def tiny_config(arch: str, loss: str, trick: str, params: dict[str, Any] | None = None, **train: Any) -> dict[str, Any]:
    """The resolved config of (arch, loss, trick) from params.yaml on tiny nets, batch 8."""
    params = copy.deepcopy(params or PARAMS)
    params["archs"][arch].update(TINY_ARCH[arch])
    params["studies"] = {"t": {"datasets": [next(iter(params["datasets"]))], "archs": [arch], "losses": [loss],
                               "tricks": [trick], "seeds": [0], "baseline": {}, "train": {}}}
    spec = RunSpec("t", next(iter(params["datasets"])), arch, loss, trick, 0)
    cfg = resolve_run(params, spec)
    cfg["train"].update({"batch_size": 8, "z_dim": 8, "steps": 4, **train})
    if "critic_schedule" in cfg["tricks"]:  # WGAN's 100 critic steps at the start: 3 keep the tests fast
        cfg["tricks"]["critic_schedule"]["n"] = 3
    return cfg


def fake_data(data: DataSpec, n: int = 64, seed: int = 0) -> torch.Tensor:
    """Uniform samples in [-1, 1] of the data's shape."""
    return torch.rand(n, *data.shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def make_trainer(cfg: dict[str, Any], data: DataSpec, seed: int = 0) -> GanTrainer:
    """A GanTrainer with fake data attached, built under a fixed seed."""
    torch.manual_seed(seed)
    trainer = GanTrainer(cfg, data)
    trainer.attach_data(fake_data(data), None, seed=seed)
    return trainer
