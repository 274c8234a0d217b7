"""Sample figures: fixed-noise sample grids per variant, and 2-D mixture samples over the mode centres."""

from __future__ import annotations

import numpy as np

from gangrid.report.plots import Figure, FigureContext, manifest, pyplot, register_figure, save_figure


def _panels(n: int, ncol_max: int = 5, size: float = 2.2):
    plt = pyplot()
    ncol = max(1, min(ncol_max, n))
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(size * ncol, (size + 0.25) * nrow), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    return fig, axes


@register_figure("samples", kinds=("gan",), order=10)
def sample_grids(ctx: FigureContext) -> list[Figure]:
    """One panel per variant: the fixed-noise grid.png of its first finished seed."""
    from PIL import Image

    variants = ctx.variants()
    if not variants:
        return []
    fig, axes = _panels(len(variants))
    for ax, (name, specs) in zip(axes.flat, variants.items()):
        spec = ctx.representative(specs)
        path = spec.dir / "grid.png"
        if path.exists():
            img = np.asarray(Image.open(path))
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
        status = ctx.status.get(spec.name, "missing")
        ax.set_title(f"{name}\n(seed {spec.seed})" if status == "finished" else f"{name}\n({status})", fontsize=6)
    stem = f"samples_{ctx.study}"
    save_figure(fig, ctx.out_dir, stem)
    return [Figure(stem, ctx.study, f"Fixed-noise samples (noise seed {ctx.params['eval'].get('sample_seed', 0)}) "
                                    f"of the first finished seed of each variant of study {ctx.study}.")]


@register_figure("mixtures", kinds=("gan",), order=20)
def mixture_scatter(ctx: FigureContext) -> list[Figure]:
    """2-D mixtures: generated points (first finished seed) over the mode centres, one row per dataset."""
    by_dataset: dict[str, list] = {}
    for name, specs in ctx.variants().items():
        if ctx.data_kind(specs[0].dataset) == "points":
            by_dataset.setdefault(specs[0].dataset, []).append((name, specs))
    if not by_dataset:
        return []
    plt = pyplot()
    ncol = max(len(v) for v in by_dataset.values())
    fig, axes = plt.subplots(len(by_dataset), ncol, figsize=(2.2 * ncol, 2.3 * len(by_dataset)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for row, (dataset, variants) in enumerate(by_dataset.items()):
        centers = np.asarray(manifest(dataset).get("meta", {}).get("centers", []), dtype=float).reshape(-1, 2)
        lim = float(np.abs(centers).max()) * 1.3 + 0.3 if len(centers) else None
        for col, (name, specs) in enumerate(variants):
            ax = axes[row, col]
            ax.axis("on")
            spec = ctx.representative(specs)
            title = name
            path = spec.dir / "samples.npz"
            if ctx.status.get(spec.name) == "finished" and path.exists():
                with np.load(path) as f:
                    x = np.asarray(f["x"], dtype=float)[:2000]
                ax.scatter(x[:, 0], x[:, 1], s=1.5, alpha=0.35, color="tab:blue", linewidths=0, rasterized=True)
                modes = ctx.value(spec, "modes")
                if np.isfinite(modes):
                    title += f"\nmodes {int(modes)}/{len(centers)}"
            else:
                title += f"\n({ctx.status.get(spec.name, 'missing')})"
            if len(centers):
                ax.scatter(centers[:, 0], centers[:, 1], s=14, marker="x", color="tab:red", linewidths=0.8)
                ax.set_xlim(-lim, lim)
                ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title, fontsize=6)
    stem = f"mixtures_{ctx.study}"
    save_figure(fig, ctx.out_dir, stem)
    return [Figure(stem, ctx.study, f"2-D mixtures, study {ctx.study}: generated points (blue, first finished seed, "
                                    "up to 2000) and the mode centres (red crosses); a collapsed generator covers few modes.")]
