"""Helpers for the translation tests: tiny resolved configs and trainers on fake image pairs (CPU)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

from gangrid.config import RunSpec, load_params, resolve_run
from gangrid.nets import DataSpec
from gangrid.kinds.translation.trainer import TranslationTrainer

from conftest import REPO

PARAMS = load_params(REPO / "params.yaml")
PAIRED = DataSpec("paired", (1, 16, 16), 10)
UNPAIRED = DataSpec("unpaired", (1, 16, 16), 10)
TINY = {"g_ch": 4, "d_ch": 4, "d_layers": 1, "n_blocks": 2}
P2P_TERMS = {"l1_target": {"weight": 100.0}}
CYCLE_TERMS = {"cycle": {"weight": 10.0}, "identity": {"weight": 0.5}, "image_pool": {"size": 6, "p": 0.5}}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny nets run fastest (and robustly on a loaded machine) on one CPU thread."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny_config(family: str, tricks: dict[str, Any], loss: str = "lsgan", arch: dict[str, Any] | None = None,
                trick: dict[str, Any] | None = None, **train: Any) -> dict[str, Any]:
    """The resolved config of a one-run translation study with a tiny `family` arch implying `tricks`
    (and the trick-axis preset `trick`, if given), batch 4."""
    params = copy.deepcopy(PARAMS)
    params["archs"]["tiny_t"] = {"family": family, **TINY, **(arch or {}), "tricks": tricks}
    params["tricks"]["tiny_trick"] = trick or {}
    params["studies"] = {"t": {"kind": "translation", "datasets": ["digits"], "archs": ["tiny_t"], "losses": [loss],
                               "tricks": ["tiny_trick"], "seeds": [0], "baseline": {}, "train": {}}}
    cfg = resolve_run(params, RunSpec("t", "digits", "tiny_t", loss, "tiny_trick", 0))
    cfg["train"].update({"batch_size": 4, "steps": 8, **train})
    return cfg


def fake_pairs(n: int = 12, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n uint8 (A, B) image pairs: B = a blurred-looking function of A, so pairs are related."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.randint(0, 256, (n, 1, 16, 16), generator=gen, dtype=torch.uint8)
    b = (255 - a.float() * 0.5).round().to(torch.uint8)
    return a, b


def make_trainer(cfg: dict[str, Any], data: DataSpec = PAIRED, seed: int = 0) -> TranslationTrainer:
    """A TranslationTrainer on fake pairs, built under a fixed seed."""
    torch.manual_seed(seed)
    trainer = TranslationTrainer(cfg, data)
    a, b = fake_pairs()
    trainer.attach_data(a, b, seed=seed)
    return trainer
