"""Ablation figures from the per-variant summary: loss x trick heatmaps and precision-vs-recall scatter."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gangrid.report.metricinfo import arrow, direction, families, family, stem
from gangrid.report.plots import Figure, FigureContext, pyplot, register_figure, save_figure
from gangrid.report.tables import decimals


def study_summary(ctx: FigureContext) -> pd.DataFrame:
    """The summary rows (variant x metric) of the context's study."""
    if ctx.summary.empty:
        return ctx.summary
    return ctx.summary[ctx.summary["study"] == ctx.study]


def pick_metric(summary: pd.DataFrame, preferred: str, overrides: dict[str, str]) -> str | None:
    """`preferred` (full name, else first metric with that stem) when it has values; else the first metric with a known direction."""
    have = [m for m in summary["metric"].unique() if (summary.loc[summary["metric"] == m, "n"] > 0).any()]
    if preferred in have:
        return preferred
    by_stem = [m for m in have if stem(m) == preferred]
    if by_stem:
        return by_stem[0]
    order = {f.key: i for i, f in enumerate(families())}
    directed = sorted((m for m in have if direction(m, overrides)), key=lambda m: order[family(m).key])
    return directed[0] if directed else None


def _annotation(rec: pd.DataFrame) -> str:
    if rec.empty:
        return ""
    r = rec.iloc[0]
    if r["n_finished"] == 0:
        return "diverged" if r["n_diverged"] else "n/a"
    if not math.isfinite(r["mean"]):
        return "n/a"
    half = r["half"] if math.isfinite(r["half"]) else math.nan
    d = decimals(r["mean"], half)
    text = f"{r['mean']:.{d}f}" + (f"\n±{half:.{d}f}" if math.isfinite(half) else "")
    return text + (f"\n({int(r['n_diverged'])} div.)" if r["n_diverged"] else "")


@register_figure("heatmap", kinds=("gan", "translation"), order=40)
def ablation_heatmaps(ctx: FigureContext) -> list[Figure]:
    """Per dataset and arch: losses x tricks coloured by the mean of the heatmap metric, annotated with its CI."""
    import seaborn as sns

    summary = study_summary(ctx)
    if summary.empty:
        return []
    spec = ctx.params["studies"][ctx.study]
    figures = []
    for (dataset, arch), group in summary.groupby(["dataset", "arch"], sort=False):
        metric = pick_metric(group, ctx.settings.heatmap_metric, ctx.settings.directions)
        if metric is None:
            continue
        rows = group[group["metric"] == metric]
        losses, tricks = list(spec["losses"]), list(spec["tricks"])
        values = np.full((len(losses), len(tricks)), np.nan)
        notes = np.full(values.shape, "", dtype=object)
        for i, loss in enumerate(losses):
            for j, trick in enumerate(tricks):
                rec = rows[(rows["loss"] == loss) & (rows["trick"] == trick)]
                if len(rec):
                    values[i, j] = rec["mean"].iloc[0]
                    notes[i, j] = _annotation(rec)
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(1.3 * len(tricks) + 1.8, 0.75 * len(losses) + 1.0))
        cmap = "viridis_r" if direction(metric, ctx.settings.directions) == "lower" else "viridis"
        sns.heatmap(pd.DataFrame(values, index=losses, columns=tricks), annot=notes, fmt="", cmap=cmap,
                    mask=~np.isfinite(values), cbar_kws={"label": f"{metric} {arrow(metric, ctx.settings.directions)}"},
                    linewidths=0.5, linecolor="white", ax=ax, annot_kws={"fontsize": 6})
        for i in range(len(losses)):
            for j in range(len(tricks)):
                if not np.isfinite(values[i, j]) and notes[i, j]:
                    ax.text(j + 0.5, i + 0.5, notes[i, j], ha="center", va="center", fontsize=6, color="tab:red")
        ax.set_xlabel("trick")
        ax.set_ylabel("loss")
        ax.set_title(f"{ctx.study}: {dataset}, {arch}")
        name = f"heatmap_{ctx.study}_{dataset}_{arch}"
        save_figure(fig, ctx.out_dir, name)
        figures.append(Figure(name, ctx.study, f"Ablation of study {ctx.study} on {dataset} ({arch}): mean {metric} "
                                                f"over finished seeds for each loss x trick, ± the half-width of its "
                                                f"{ctx.settings.confidence:.0%} CI ({ctx.settings.interval}); "
                                                "yellow is better; red text: no finished seed."))
    return figures


def pr_pairs(metrics: list[str]) -> list[tuple[str, str]]:
    """(precision, recall) metric names sharing a protocol suffix: precision1k_clf <-> recall1k_clf."""
    pairs = []
    for m in metrics:
        if stem(m) == "precision":
            partner = "recall" + m[len("precision"):]
            if partner in metrics:
                pairs.append((m, partner))
    return pairs


@register_figure("precision_recall", kinds=("gan",), order=50)
def precision_recall(ctx: FigureContext) -> list[Figure]:
    """Precision vs recall per variant (mean with CI error bars) and the real-data point, one panel per dataset."""
    summary = study_summary(ctx)
    if summary.empty:
        return []
    pairs = pr_pairs(list(summary["metric"].unique()))
    figures = []
    plt = pyplot()
    for p_name, r_name in pairs:
        datasets = [d for d in summary["dataset"].unique()
                    if (summary[(summary["dataset"] == d) & (summary["metric"] == p_name)]["n"] > 0).any()]
        if not datasets:
            continue
        fig, axes = plt.subplots(1, len(datasets), figsize=(3.4 * len(datasets), 3.0), squeeze=False)
        for ax, dataset in zip(axes.flat, datasets):
            sub = summary[summary["dataset"] == dataset]
            prec = sub[sub["metric"] == p_name].set_index("variant")
            rec = sub[sub["metric"] == r_name].set_index("variant")
            for i, variant in enumerate(prec.index):
                if variant not in rec.index or prec.loc[variant, "n"] == 0:
                    continue
                p, r = prec.loc[variant], rec.loc[variant]
                ax.errorbar(r["mean"], p["mean"], xerr=np.nan_to_num(r["half"]), yerr=np.nan_to_num(p["half"]),
                            fmt="o" if not p["baseline"] else "s", ms=4, capsize=2, label=variant,
                            color=plt.get_cmap("tab10")(i % 10))
            real = ctx.real[ctx.real["dataset"] == dataset] if "dataset" in ctx.real else ctx.real
            if len(real) and p_name in real and r_name in real:
                ax.scatter(real[r_name], real[p_name], marker="*", s=80, color="black", label="real data", zorder=3)
            ax.set_xlim(-0.02, 1.02)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(r_name)
            ax.set_ylabel(p_name)
            ax.set_title(dataset)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=5, loc="best")
        fig.tight_layout()
        name = f"pr_{ctx.study}_{p_name}"
        save_figure(fig, ctx.out_dir, name)
        figures.append(Figure(name, ctx.study, f"Precision vs recall, study {ctx.study}: mean over finished seeds with "
                                                f"{ctx.settings.confidence:.0%} CI error bars (squares: baseline); "
                                                "the star is real held-out data. Up and right is better."))
    return figures
