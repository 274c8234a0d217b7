"""A run with stateful tricks, stopped and resumed from a checkpoint file (weights_only load),
ends bit-exactly where the uninterrupted run ends (CPU, same seed)."""

from __future__ import annotations

import pytest
import torch

from gangrid.io import load_torch, save_torch

from tricks_util import DATA, make_trainer, tiny_config

STATEFUL = {
    "ema": {"decay": 0.9},
    "replay": {"size": 12, "p": 0.5},
    "lr_schedule": {"kind": "linear", "start": 0.25},
    "instance_noise": {"sigma": 0.1, "anneal": 1.0},
    "unrolled": {"k": 2},
    "spectral_norm": {},
    "noisy_labels": {"flip": 0.2, "noise": 0.05},
    "diffaugment": {},
    "feature_matching": {},
}
OTHERS = {"pacgan": {"m": 2}, "consistency": {"fake_weight": 1.0}, "d_dropout": {"p": 0.3}, "r1": {}, "grad_clip": {},
          "mbdisc": {"kernels": 4, "dim": 3}, "unrolled": {"k": 2, "second_order": False}}


def tensors(tree, prefix=""):
    """(path, tensor-or-value) leaves of a nested state."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from tensors(v, f"{prefix}.{k}")
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from tensors(v, f"{prefix}[{i}]")
    else:
        yield prefix, tree


def assert_same_state(a, b):
    la, lb = dict(tensors(a)), dict(tensors(b))
    assert la.keys() == lb.keys()
    for key in la:
        x, y = la[key], lb[key]
        if torch.is_tensor(x):
            assert torch.equal(x, y), key
        else:
            assert x == y, key


@pytest.mark.parametrize("arch", ["mlp2d", "dcgan16"])
@pytest.mark.parametrize("loss,tricks", [("ns", STATEFUL), ("wgan_gp", OTHERS)], ids=["stateful", "others"])
def test_resume_is_bit_exact(tmp_path, arch, loss, tricks):
    cfg = tiny_config(arch, loss, "none", steps=6)
    cfg["tricks"].update(tricks)
    cfg["train"]["n_critic"] = 1
    data = DATA[arch]

    full = make_trainer(cfg, data)
    for _ in range(6):
        full.iteration()

    first = make_trainer(cfg, data)
    for _ in range(3):
        first.iteration()
    save_torch(tmp_path / "ckpt.pt", first.state_dict())
    del first

    resumed = make_trainer(cfg, data, seed=123)  # different init: everything must come from the checkpoint
    resumed.load_state_dict(load_torch(tmp_path / "ckpt.pt"))
    for _ in range(3):
        resumed.iteration()

    assert resumed.step == full.step == 6
    assert_same_state(full.state_dict(), resumed.state_dict())
    z = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(full.sampling_generator()(z), resumed.sampling_generator()(z))
