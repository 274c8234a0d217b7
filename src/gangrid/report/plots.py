"""The `plots` stage: figures under reports/figures/ (PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gangrid.config import iter_runs
from gangrid.io import atomic_path
from gangrid.report import FIGURES_DIR


def sample_grid_figure(params: dict[str, Any], study: str, out: Path) -> Path:
    """One panel per variant: the sample grid of its first seed (the fixed-noise grid)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    first_seed: dict[str, Any] = {}
    for spec in iter_runs(params, [study]):
        first_seed.setdefault(spec.variant, spec)
    specs = list(first_seed.values())
    ncol = min(5, len(specs))
    nrow = int(np.ceil(len(specs) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.4 * ncol, 2.6 * nrow), dpi=100, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, spec in zip(axes.flat, specs):
        img = np.asarray(Image.open(spec.dir / "grid.png"))
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
        ax.set_title(spec.variant, fontsize=6)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return out


def run_plots(params: dict[str, Any], out_dir: Path = FIGURES_DIR) -> list[Path]:
    """Write every figure; returns their paths."""
    return [sample_grid_figure(params, study, out_dir / f"samples_{study}.png") for study in params["studies"]]
