"""Sampling is a function of the checkpoint and eval.sample_seed only: noise drawn inside a
generator (StyleGAN's per-layer noise) must not depend on the process's RNG state (torch seeds
its global generator randomly in each new process)."""

from __future__ import annotations

import numpy as np
import torch

from gangrid.nets import DataSpec, build_nets
from gangrid.kinds.gan.sampling import generate


def test_generated_samples_ignore_the_global_rng_and_leave_it_alone(params):
    data = DataSpec("image", (1, 16, 16), 10)
    torch.manual_seed(0)
    g, _ = build_nets({**params["archs"]["stylegan16"], "z_dim": 16}, data)
    g.eval()
    runs = []
    for state in (1, 2):
        torch.manual_seed(state)
        before = torch.random.get_rng_state()
        runs.append(generate(g, data, z_dim=16, n=12, seed=1234, device=torch.device("cpu"), batch=5))
        assert torch.equal(torch.random.get_rng_state(), before)  # the caller's RNG is restored
    (x1, y1), (x2, y2) = runs
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    other, _ = generate(g, data, z_dim=16, n=12, seed=99, device=torch.device("cpu"), batch=5)
    assert not np.array_equal(x1, other)
