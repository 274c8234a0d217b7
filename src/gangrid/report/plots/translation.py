"""Figures of image-to-image translation studies (`studies.<name>.kind: translation`).

Contract with the translation sample stage: a run's `samples.npz` holds uint8
NCHW arrays `src` (inputs), `x` (translations of `src`) and, for paired data,
`target` (ground truth). The triptych shows the first examples of each variant
as input | output | target rows. This module is the extension point for the
translation study: its other figures register here with kinds=("translation",).
"""

from __future__ import annotations

import numpy as np

from gangrid.plotting import image_grid
from gangrid.report.plots import Figure, FigureContext, pyplot, register_figure, save_figure

N_EXAMPLES = 6


def triptych_rows(arrays: dict[str, np.ndarray], n: int = N_EXAMPLES) -> list[tuple[str, np.ndarray]]:
    """(label, HWC/HW mosaic) rows for input, output and target (when present), `n` examples each."""
    rows = []
    for key, title in (("src", "input"), ("x", "output"), ("target", "target")):
        if key in arrays and len(arrays[key]):
            rows.append((title, image_grid(np.asarray(arrays[key][:n]), nrow=n)))
    return rows


@register_figure("triptych", kinds=("translation",), order=15)
def triptychs(ctx: FigureContext) -> list[Figure]:
    """Input | output | target rows for the first finished seed of each variant."""
    blocks = []
    for name, specs in ctx.variants().items():
        spec = ctx.representative(specs)
        path = spec.dir / "samples.npz"
        if ctx.status.get(spec.name) != "finished" or not path.exists():
            continue
        with np.load(path) as f:
            rows = triptych_rows({k: f[k] for k in f.files})
        if rows:
            blocks.append((name, rows))
    if not blocks:
        return []
    plt = pyplot()
    n_rows = sum(len(rows) for _, rows in blocks)
    fig, axes = plt.subplots(n_rows, 1, figsize=(1.0 * N_EXAMPLES, 1.1 * n_rows), squeeze=False)
    i = 0
    for name, rows in blocks:
        for j, (title, img) in enumerate(rows):
            ax = axes[i, 0]
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_ylabel(title, fontsize=6)
            if j == 0:
                ax.set_title(name, fontsize=7)
            i += 1
    fig.tight_layout()
    stem = f"triptych_{ctx.study}"
    save_figure(fig, ctx.out_dir, stem)
    return [Figure(stem, ctx.study, f"Translations of study {ctx.study}: input, output and target (when paired) "
                                    "for the first finished seed of each variant.")]
