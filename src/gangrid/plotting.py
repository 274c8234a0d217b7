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


def save_points_plot(path: str | Path, points: np.ndarray, centers: np.ndarray, title: str = "", size: int = 320) -> None:
    """Scatter of generated 2-D points (blue) over the mixture's mode centres (red crosses), the
    mode-collapse figure, rasterised directly (no plotting library: this runs once per run)."""
    from PIL import Image, ImageDraw

    centers = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
    lim = float(np.abs(centers).max()) * 1.4 + 0.2 if len(centers) else float(np.abs(points).max(initial=1.0)) * 1.1
    top = 16  # title band
    img = Image.new("RGB", (size, size + top), "white")
    draw = ImageDraw.Draw(img)

    def to_px(xy: np.ndarray) -> np.ndarray:
        return np.stack([(xy[:, 0] + lim) / (2 * lim) * (size - 1), top + (lim - xy[:, 1]) / (2 * lim) * (size - 1)], 1)

    pts = np.round(to_px(np.asarray(points, dtype=np.float64).reshape(-1, 2)))  # round first, then clip
    inside = np.isfinite(pts).all(1)
    inside[inside] = (pts[inside, 0] >= 0) & (pts[inside, 0] < size) & (pts[inside, 1] >= top) & (pts[inside, 1] < size + top)
    canvas = np.asarray(img).copy()
    ij = pts[inside].astype(int)
    canvas[ij[:, 1], ij[:, 0]] = (31, 119, 180)
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    for cx, cy in to_px(centers):
        draw.line((cx - 4, cy - 4, cx + 4, cy + 4), fill=(214, 39, 40), width=2)
        draw.line((cx - 4, cy + 4, cx + 4, cy - 4), fill=(214, 39, 40), width=2)
    draw.text((4, 2), title, fill=(0, 0, 0))
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


def save_text_image(path: str | Path, text: str, size: tuple[int, int] = (256, 96)) -> None:
    """A placeholder PNG carrying `text` (e.g. for a diverged run's sample grid)."""
    from PIL import Image, ImageDraw

    img = Image.new("L", size, color=255)
    ImageDraw.Draw(img).multiline_text((8, 8), text, fill=0)
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
