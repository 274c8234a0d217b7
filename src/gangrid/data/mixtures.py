"""2-D Gaussian mixtures of the mode-collapse literature (PacGAN, Unrolled GAN, VEEGAN).

- grid25: 25 modes on the grid {-4, -2, 0, 2, 4}^2, std 0.05 (PacGAN / VEEGAN "2D-grid").
- ring8: 8 modes evenly spaced on a circle of radius 2, std 0.02 (Unrolled GAN / VEEGAN "2D-ring").
Points are drawn with a fixed seed, so the raw file is reproducible bit for bit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gangrid.data import SOURCES, RawDataset
from gangrid.io import save_npz


def grid_centers(size: int = 5, spacing: float = 2.0) -> np.ndarray:
    """Centres of a size x size grid with the given spacing, centred on the origin."""
    half = (size - 1) / 2.0
    axis = (np.arange(size) - half) * spacing
    return np.array([(x, y) for x in axis for y in axis], dtype=np.float64)


def ring_centers(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """Centres of `n_modes` modes evenly spaced on a circle of `radius`, the first on the x axis."""
    angles = 2.0 * np.pi * np.arange(n_modes) / n_modes
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def sample_mixture(centers: np.ndarray, std: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points from the equal-weight isotropic mixture, with the index of the mode each came from."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(centers), size=n)
    points = centers[labels] + std * rng.standard_normal((n, centers.shape[1]))
    return points.astype(np.float32), labels.astype(np.int64)


class _Mixture:
    kind = "points"
    native = {"resolution": 2, "channels": 1, "classes": 0}
    defaults: dict[str, Any] = {}
    options = {
        "std": "standard deviation of every Gaussian",
        "n_points": "number of points drawn",
        "data_seed": "seed of the draw (default 0)",
    }

    def centers(self, cfg: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError

    def _cfg(self, cfg: dict[str, Any]) -> dict[str, Any]:
        return {**self.defaults, **cfg}

    def fetch(self, cfg: dict[str, Any], raw_dir: Path) -> dict[str, Any]:
        c = self._cfg(cfg)
        centers = self.centers(c)
        x, y = sample_mixture(centers, c["std"], c["n_points"], c["data_seed"])
        save_npz(raw_dir / "points.npz", x=x, y=y, centers=centers, std=np.float64(c["std"]))
        return {"generated": {"centers": len(centers), "std": c["std"], "n_points": c["n_points"], "seed": c["data_seed"]}}

    def read(self, cfg: dict[str, Any], raw_dir: Path) -> RawDataset:
        with np.load(raw_dir / "points.npz") as f:
            return RawDataset(
                kind="points",
                x=f["x"],
                y=f["y"],
                meta={"centers": f["centers"].tolist(), "std": float(f["std"])},
            )


@SOURCES.register("grid25")
class Grid25(_Mixture):
    """5x5 grid of Gaussians (PacGAN / VEEGAN layout)."""

    defaults = {"grid_size": 5, "spacing": 2.0, "std": 0.05, "n_points": 20000, "data_seed": 0}
    options = {**_Mixture.options, "grid_size": "modes per side (default 5)", "spacing": "distance between neighbouring modes (default 2)"}

    def centers(self, cfg: dict[str, Any]) -> np.ndarray:
        return grid_centers(cfg["grid_size"], cfg["spacing"])


@SOURCES.register("ring8")
class Ring8(_Mixture):
    """Ring of 8 Gaussians (Unrolled GAN / VEEGAN layout)."""

    defaults = {"n_modes": 8, "radius": 2.0, "std": 0.02, "n_points": 20000, "data_seed": 0}
    options = {**_Mixture.options, "n_modes": "modes on the ring (default 8)", "radius": "radius of the ring (default 2)"}

    def centers(self, cfg: dict[str, Any]) -> np.ndarray:
        return ring_centers(cfg["n_modes"], cfg["radius"])
