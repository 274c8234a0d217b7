"""One training iteration of every registered arch preset x loss on CPU: finite losses, weights move."""

from __future__ import annotations

import itertools

import pytest
import torch

from gangrid.config import RunSpec, load_params, resolve_run
from gangrid.nets import DataSpec
from gangrid.kinds.gan.trainer import GanTrainer

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
    trainer = GanTrainer(tiny_config(arch, loss), data)
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


@pytest.mark.parametrize("name", ["adam", "rmsprop", "sgd"])
def test_optimizer_step_equals_torch_step(name):
    """gangrid's eager optimizer_step / zero_grad give bit-identical updates to opt.step() / opt.zero_grad()."""
    from gangrid.training.base import make_optimizer, optimizer_step, zero_grad

    torch.manual_seed(0)
    nets = [torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    opts = [make_optimizer(n.parameters(), name, 1e-2, [0.5, 0.999]) for n in nets]
    for step in range(5):
        x = torch.randn(16, 4)
        for i, (net, opt) in enumerate(zip(nets, opts)):
            (zero_grad if i == 0 else lambda o: o.zero_grad(set_to_none=True))(opt)
            net(x).pow(2).mean().backward()
            optimizer_step(opt) if i == 0 else opt.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        assert torch.equal(a, b)
    assert opts[0].state_dict()["state"].keys() == opts[1].state_dict()["state"].keys()


def test_training_does_not_import_torch_dynamo():
    """An eager training iteration never pays torch._dynamo's import (0.8 s per stage process)."""
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from gangrid.nets import DataSpec\n"
        "from gangrid.kinds.gan.trainer import GanTrainer\n"
        "from test_train_step import tiny_config\n"
        "t = GanTrainer(tiny_config('mlp2d', 'ns'), DataSpec('points', (2,)))\n"
        "t.attach_data(torch.randn(64, 2), None, seed=0)\n"
        "t.iteration(); t.load_state_dict(t.state_dict())\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO / "tests"), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
