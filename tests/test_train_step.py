"""One training iteration of every registered arch preset x loss on CPU: finite losses, weights move."""

from __future__ import annotations

import itertools

import pytest
import torch

from gangrid.config import RunSpec, load_params, resolve_run
from gangrid.nets import DataSpec
from gangrid.train import Trainer

from conftest import REPO

PARAMS = load_params(REPO / "params.yaml")
ARCH_DATA = {
    "mlp2d": DataSpec("points", (2,)),
    "dcgan16": DataSpec("image", (1, 16, 16), 10),
}


def tiny_config(arch: str, loss: str) -> dict:
    params = {**PARAMS, "losses": {**PARAMS["losses"], loss: PARAMS["losses"][loss]}}
    study = next(iter(params["studies"]))
    cfg = resolve_run(params, RunSpec(study, next(iter(params["datasets"])), arch, loss, "none", 0))
    cfg["train"].update(batch_size=8, z_dim=8)
    return cfg


@pytest.mark.parametrize("arch,loss", list(itertools.product(ARCH_DATA, PARAMS["losses"])))
def test_one_step(arch, loss):
    torch.manual_seed(0)
    data = ARCH_DATA[arch]
    trainer = Trainer(tiny_config(arch, loss), data)
    x = torch.rand(32, *data.shape) * 2 - 1
    trainer.attach_data(x, None, seed=0)
    g_before = [p.detach().clone() for p in trainer.g.parameters()]
    d_before = [p.detach().clone() for p in trainer.d.parameters()]
    stats = trainer.iteration()
    assert trainer.step == 1
    assert all(torch.isfinite(v) for v in stats.values()), stats
    assert any(not torch.equal(a, b) for a, b in zip(g_before, trainer.g.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d_before, trainer.d.parameters()))
    sample = trainer.sampling_generator()(torch.randn(4, 8))
    assert sample.shape == (4, *data.shape)
    if data.kind == "image":
        assert sample.min() >= -1 and sample.max() <= 1
