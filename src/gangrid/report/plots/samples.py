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
    """2-D mixtures, one row per dataset: the real held-out points, then each variant's generated points (first
    finished seed), each panel with the high-quality region (hq_std x std) around every mode."""
    from matplotlib.patches import Circle

    by_dataset: dict[str, list] = {}
    for name, specs in ctx.variants().items():
        if ctx.data_kind(specs[0].dataset) == "points":
            by_dataset.setdefault(specs[0].dataset, []).append((name, specs))
    if not by_dataset:
        return []
    plt = pyplot()
    ncol = 1 + max(len(v) for v in by_dataset.values())
    fig, axes = plt.subplots(len(by_dataset), ncol, figsize=(2.2 * ncol, 2.3 * len(by_dataset)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    hq_std = float(ctx.params["eval"].get("hq_std", 3.0))
    for row, (dataset, variants) in enumerate(by_dataset.items()):
        meta = manifest(dataset).get("meta", {})
        centers = np.asarray(meta.get("centers", []), dtype=float).reshape(-1, 2)
        radius = hq_std * float(meta.get("std", 0.0))
        lim = float(np.abs(centers).max()) * 1.3 + 0.3 if len(centers) else None
        panels = [("real data (test split)", real_points(dataset), "", "0.35")]
        for name, specs in variants:
            spec = ctx.representative(specs)
            path = spec.dir / "samples.npz"
            if ctx.status.get(spec.name) == "finished" and path.exists():
                with np.load(path) as f:
                    x = np.asarray(f["x"], dtype=float)[:2000]
                modes, hq = ctx.value(spec, "modes"), ctx.value(spec, "hq_pct")
                note = (f"modes {int(modes)}/{len(centers)}" if np.isfinite(modes) else "") + (
                    f", HQ {hq:.0f}%" if np.isfinite(hq) else "")
                panels.append((name, x, note, "tab:blue"))
            else:
                panels.append((name, None, f"({ctx.status.get(spec.name, 'missing')})", ""))
        for col, (title, x, note, color) in enumerate(panels):
            ax = axes[row, col]
            ax.axis("on")
            if x is not None and len(x):
                ax.scatter(x[:, 0], x[:, 1], s=1.5, alpha=0.35, color=color, linewidths=0, rasterized=True)
            for cx, cy in centers:
                ax.add_patch(Circle((cx, cy), radius, fill=False, color="tab:red", lw=0.5, alpha=0.8))
            if len(centers):
                ax.set_xlim(-lim, lim)
                ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title + (f"\n{note}" if note else ""), fontsize=6)
    stem = f"mixtures_{ctx.study}"
    save_figure(fig, ctx.out_dir, stem)
    return [Figure(stem, ctx.study, f"2-D mixtures, study {ctx.study}: held-out real points (grey, first column) and "
                                    "each variant's generated points (blue, first finished seed, up to 2000); red "
                                    f"circles: the high-quality region, {hq_std:g} std around each mode. A collapsed "
                                    "generator covers few modes; a diffuse one puts few points inside the circles.")]


def real_points(dataset: str, n: int = 2000) -> np.ndarray | None:
    """Up to n held-out test points of a 2-D mixture (None when the split is absent)."""
    from gangrid.data.store import load_split

    try:
        return np.asarray(load_split(dataset, "test").x[:n], dtype=float)
    except (FileNotFoundError, OSError, KeyError):
        return None
