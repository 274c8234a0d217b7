"""Input / output / target triptychs of translated test images (both directions for CycleGAN).

`triptych_panels(arrays)` reads the arrays of a translation run's samples.npz (see
`gangrid.kinds.translation`); `triptych_figure(arrays)` draws them as one matplotlib figure
(one block of rows per direction: input, output, target when the set is paired, cycle
reconstruction for CycleGAN); `save_triptych(path, arrays)` writes it as a PNG (the
run's grid.png). The columns are the first `n` fixed test inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from gangrid.io import atomic_path
from gangrid.plotting import image_grid

# (direction title, [(samples.npz key, row label)]) in drawing order.
LAYOUT: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("A -> B", (("src", "input A"), ("x", "output G(A)"), ("target", "target B"), ("rec", "cycle F(G(A))"))),
    ("B -> A", (("src_b", "input B"), ("x_b", "output F(B)"), ("target_b", "target A"), ("rec_b", "cycle G(F(B))"))),
)


def triptych_panels(arrays: Mapping[str, np.ndarray], n: int = 8) -> list[tuple[str, list[tuple[str, np.ndarray]]]]:
    """[(direction, [(row label, HW or HWC uint8 mosaic of the first n images)])] for the rows present in `arrays`."""
    out = []
    for title, rows in LAYOUT:
        panel = [(label, image_grid(np.asarray(arrays[key][:n]), nrow=min(n, len(arrays[key]))))
                 for key, label in rows if key in arrays and np.ndim(arrays[key]) == 4 and len(arrays[key])]
        if panel:
            out.append((title, panel))
    return out


def triptych_figure(arrays: Mapping[str, np.ndarray], n: int = 8, title: str = "") -> Any:
    """A matplotlib Figure: per direction, rows input / output / target (paired) / cycle (CycleGAN), one mosaic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = triptych_panels(arrays, n)
    if not panels:
        fig, ax = plt.subplots(figsize=(3, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{title}\nno translations", ha="center", va="center", fontsize=8)
        return fig
    rows = [img if img.ndim == 3 else img[..., None] for _, panel in panels for _, img in panel]
    width, channels = max(r.shape[1] for r in rows), rows[0].shape[2]
    gap = max(2, rows[0].shape[0] // 3)  # blank band between the two directions
    parts, ticks, labels, heads, top = [], [], [], [], 0
    for i, (direction, panel) in enumerate(panels):
        if i:
            parts.append(np.full((gap, width, channels), 255, np.uint8))
            top += gap
        heads.append((top, direction))
        for label, img in panel:
            img = img if img.ndim == 3 else img[..., None]
            img = np.pad(img, ((0, 0), (0, width - img.shape[1]), (0, 0)))
            parts.append(img)
            ticks.append(top + img.shape[0] / 2)
            labels.append(label)
            top += img.shape[0]
    mosaic = np.concatenate(parts)
    mosaic = mosaic[..., 0] if channels == 1 else mosaic
    scale = 0.06  # inches per pixel
    fig, ax = plt.subplots(figsize=(width * scale + 1.3, mosaic.shape[0] * scale + (0.45 if title else 0.2)))
    ax.imshow(mosaic, cmap="gray" if mosaic.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks(ticks, labels, fontsize=6)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if len(panels) > 1:
        for y, direction in heads:
            ax.text(-0.5, y - 0.5, direction, fontsize=6, ha="left", va="bottom")
    if title:
        ax.set_title(title, fontsize=8, pad=8)
    fig.tight_layout()
    return fig


def save_triptych(path: str | Path, arrays: Mapping[str, np.ndarray], n: int = 8, title: str = "") -> None:
    """Write `triptych_figure(arrays, n, title)` as a PNG, atomically."""
    import matplotlib.pyplot as plt

    fig = triptych_figure(arrays, n, title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=150)
    plt.close(fig)
