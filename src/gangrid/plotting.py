"""Small image writers shared by stages: sample grids, 2-D scatter plots, text placeholders."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gangrid.io import atomic_path


def image_grid(images: np.ndarray, nrow: int | None = None, pad: int = 1) -> np.ndarray:
    """uint8 NCHW images -> one HWC (or HW) uint8 mosaic with `pad` pixels of spacing."""
    n, c, h, w = images.shape
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    ncol = int(np.ceil(n / nrow))
    out = np.zeros((ncol * (h + pad) + pad, nrow * (w + pad) + pad, c), dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        out[top : top + h, left : left + w] = images[i].transpose(1, 2, 0)
    return out[..., 0] if c == 1 else out


def save_image_grid(path: str | Path, images: np.ndarray, nrow: int | None = None, scale: int = 2) -> None:
    """Write a PNG mosaic of uint8 NCHW images (nearest-neighbour upscaled by `scale`)."""
    from PIL import Image

    grid = image_grid(images, nrow)
    if scale > 1:
        grid = grid.repeat(scale, 0).repeat(scale, 1)
    with atomic_path(path) as tmp:
        Image.fromarray(grid).save(tmp, format="PNG")


def save_points_plot(path: str | Path, points: np.ndarray, centers: np.ndarray, title: str = "") -> None:
    """Scatter of generated 2-D points over the mixture's mode centres (the mode-collapse figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="tab:blue", label="samples")
    if len(centers):
        ax.scatter(centers[:, 0], centers[:, 1], s=30, marker="x", color="tab:red", label="mode centres")
        lim = float(np.abs(centers).max()) * 1.4 + 0.2
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def save_text_image(path: str | Path, text: str, size: tuple[int, int] = (256, 96)) -> None:
    """A placeholder PNG carrying `text` (e.g. for a diverged run's sample grid)."""
    from PIL import Image, ImageDraw

    img = Image.new("L", size, color=255)
    ImageDraw.Draw(img).multiline_text((8, 8), text, fill=0)
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
