"""Architecture-specific figures: a generator may define `figures(seed) -> {name: (images, columns)}`
(model-space images in [-1, 1]); InfoGAN draws latent traversals, StyleGAN style-mixing grids.
`save_arch_figures` writes them as PNG mosaics next to a run's samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from gangrid.plotting import save_image_grid


def arch_figures(g: nn.Module, seed: int = 0) -> dict[str, tuple[np.ndarray, int]]:
    """{name: (uint8 NCHW images, columns)} of the generator's figures ({} if it defines none)."""
    make = getattr(g, "figures", None)
    if not callable(make):
        return {}
    was_training = g.training
    g.eval()
    try:
        with torch.no_grad():
            figs = make(seed)
    finally:
        g.train(was_training)
    out = {}
    for name, (images, ncol) in figs.items():
        u8 = (images.detach().float().cpu() * 127.5 + 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
        out[name] = (u8, int(ncol))
    return out


def save_arch_figures(g: nn.Module, out_dir: str | Path, seed: int = 0, prefix: str = "") -> list[Path]:
    """Write each figure of `g` as `<out_dir>/<prefix><name>.png`; returns the paths written."""
    paths = []
    for name, (images, ncol) in arch_figures(g, seed).items():
        path = Path(out_dir) / f"{prefix}{name}.png"
        save_image_grid(path, images, nrow=ncol)
        paths.append(path)
    return paths
