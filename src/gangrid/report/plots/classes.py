"""Class histograms of generated images: which classes the domain classifier sees in each variant's samples.

Per variant: the share of samples predicted as each class, averaged over the
finished seeds (error bars: std over seeds), against the classifier's histogram
of the held-out real test split (black steps) and the uniform share (dashed).
Needs the dataset's processed data and `models/classifier/<dataset>.pt`; datasets
without either are skipped.
"""

from __future__ import annotations

import numpy as np

from gangrid.report.plots import Figure, FigureContext, manifest, pyplot, register_figure, save_figure


def class_shares(extract, x: np.ndarray, n_classes: int) -> np.ndarray:
    """Share of the images `x` that the classifier assigns to each class."""
    _, probs = extract(x)
    if probs is None or not len(probs):
        return np.full(n_classes, np.nan)
    return np.bincount(probs.argmax(1), minlength=n_classes)[:n_classes] / len(probs)


def _classifier(dataset: str):
    from gangrid.artifacts import classifier_path
    from gangrid.metrics.extractors import classifier_extractor

    if not classifier_path(dataset).exists():
        return None
    return classifier_extractor(dataset)


@register_figure("classes", kinds=("gan",), order=60)
def class_histograms(ctx: FigureContext) -> list[Figure]:
    """One bar panel per image variant whose dataset has classes and a trained classifier."""
    from gangrid.data.store import load_split

    panels = []
    cache: dict[str, tuple] = {}
    for name, specs in ctx.variants().items():
        dataset = specs[0].dataset
        meta = manifest(dataset)
        n_classes = int(meta.get("meta", {}).get("classes", 0) or 0)
        if meta.get("kind") != "image" or n_classes < 2:
            continue
        if dataset not in cache:
            extract = _classifier(dataset)
            real = class_shares(extract, np.asarray(load_split(dataset, "test").x), n_classes) if extract else None
            cache[dataset] = (extract, real)
        extract, real = cache[dataset]
        if extract is None:
            continue
        shares = []
        for spec in ctx.finished(specs):
            path = spec.dir / "samples.npz"
            if path.exists():
                with np.load(path) as f:
                    shares.append(class_shares(extract, f["x"], n_classes))
        panels.append((name, dataset, n_classes, np.array(shares), real, len(specs) - len(shares)))
    if not panels:
        return []
    plt = pyplot()
    ncol = min(4, len(panels))
    nrow = int(np.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 1.9 * nrow), squeeze=False, sharey=True)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, (name, dataset, k, shares, real, missing) in zip(axes.flat, panels):
        classes = np.arange(k)
        if len(shares):
            err = shares.std(axis=0, ddof=1) if len(shares) > 1 else None
            ax.bar(classes, shares.mean(axis=0), yerr=err, color="tab:blue", alpha=0.8, capsize=1.5, error_kw={"lw": 0.6})
        else:
            ax.text(0.5, 0.5, "no finished seed", transform=ax.transAxes, ha="center", color="tab:red")
        if real is not None:
            ax.step(np.arange(k + 1) - 0.5, np.append(real, real[-1]), where="post", color="black", lw=0.8)
        ax.axhline(1 / k, color="gray", ls="--", lw=0.7)
        ax.set_xticks(classes)
        ax.set_title(f"{name}\n({len(shares)} seeds" + (f", {missing} not finished)" if missing else ")"), fontsize=6)
    for ax in axes[:, 0]:
        ax.set_ylabel("share of samples")
    fig.tight_layout()
    stem = f"classes_{ctx.study}"
    save_figure(fig, ctx.out_dir, stem)
    return [Figure(stem, ctx.study, f"Class histograms of generated images, study {ctx.study}: share of samples the "
                                    "domain classifier assigns to each class (mean over finished seeds, error bars: std); "
                                    "black steps: the classifier on held-out real images; dashed: uniform.")]
