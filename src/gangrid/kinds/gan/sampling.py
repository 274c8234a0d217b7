"""Sampling a trained GAN: N images (uint8) or points (float) from fixed noise -> samples.npz + grid.png."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gangrid.config import RunSpec
from gangrid.data.store import read_manifest, to_uint8
from gangrid.io import save_npz
from gangrid.kinds.gan.trainer import GanTrainer, sample_latent
from gangrid.nets import DataSpec
from gangrid.plotting import save_image_grid, save_points_plot
from gangrid.runtime import seeded_torch


@torch.no_grad()
def generate(g: torch.nn.Module, data: DataSpec, z_dim: int, n: int, seed: int, device: torch.device, batch: int = 500) -> tuple[np.ndarray, np.ndarray | None]:
    """n samples from fixed-seed noise; labels cycle through the classes for conditional nets.

    The global RNGs are seeded too (and restored afterwards): noise drawn inside the generator
    (StyleGAN's per-layer noise) must not depend on what ran before in the process.
    """
    gen = torch.Generator().manual_seed(seed)
    xs, ys = [], []
    with seeded_torch(seed, device):
        for i in range(0, n, batch):
            b = min(batch, n - i)
            z = sample_latent(g, b, z_dim, device, generator=gen)
            y = (torch.arange(i, i + b) % data.n_classes).to(device) if data.n_classes else None
            x = g(z, y)
            xs.append(to_uint8(x).cpu().numpy() if data.kind == "image" else x.float().cpu().numpy())
            if y is not None:
                ys.append(y.cpu().numpy())
    return np.concatenate(xs), (np.concatenate(ys) if ys else None)


def sample_run(params: dict[str, Any], spec: RunSpec, trainer: GanTrainer) -> None:
    """Write samples.npz (x, and y for conditional nets) and grid.png of a finished run."""
    ev = params["eval"]
    files = spec.files
    x, y = generate(trainer.sampling_generator(), trainer.data, int(trainer.config["train"]["z_dim"]),
                    int(ev["n_samples"]), int(ev.get("sample_seed", 0)), trainer.device)
    arrays = {"x": x, "status": np.array("finished")}
    if y is not None:
        arrays["y"] = y
    save_npz(files.samples, **arrays)
    if trainer.data.kind == "image":
        n = int(ev.get("grid_size", 8)) ** 2
        save_image_grid(files.grid, x[:n])
    else:
        meta = read_manifest(spec.dataset)["meta"]
        save_points_plot(files.grid, x[:2500], np.asarray(meta.get("centers", [])), title=spec.name)
