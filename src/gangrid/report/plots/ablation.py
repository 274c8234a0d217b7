"""Ablation figures from the per-variant summary: heatmaps of two ablation axes (loss x trick), ranked bars of
one, and precision-vs-recall scatter."""

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


AXES = ("arch", "loss", "trick")  # the ablation axes of a study (datasets are blocks, not an axis)
AXIS_KEYS = {"arch": "archs", "loss": "losses", "trick": "tricks"}  # their lists in a study's params


def axis_values(summary: pd.DataFrame, spec: dict, axis: str) -> list[str]:
    """The values of `axis` among the study's variants: params order first, then borrowed ones (a shared baseline)."""
    present = list(dict.fromkeys(summary[axis].astype(str)))
    listed = [str(v) for v in spec.get(AXIS_KEYS[axis], [])]
    return [v for v in listed if v in present] + [v for v in present if v not in listed]


def varying_axes(summary: pd.DataFrame, spec: dict) -> list[str]:
    """The ablation axes (arch, loss, trick) with at least two values among the study's variants."""
    return [a for a in AXES if len(axis_values(summary, spec, a)) >= 2]


@register_figure("heatmap", kinds=("gan", "translation"), order=40)
def ablation_heatmaps(ctx: FigureContext) -> list[Figure]:
    """Where two ablation axes have two or more values each: per dataset (and value of the third axis), a heatmap
    of those two axes (loss x trick when both vary) coloured by the mean of the heatmap metric, annotated with its CI."""
    import seaborn as sns

    summary = study_summary(ctx)
    if summary.empty:
        return []
    spec = ctx.params["studies"][ctx.study]
    varying = varying_axes(summary, spec)
    if len(varying) < 2:
        return []
    row_axis, col_axis = varying[-2:]
    fixed = [a for a in AXES if a not in (row_axis, col_axis)]
    figures = []
    for key, group in summary.groupby(["dataset", *fixed], sort=False):
        dataset, *others = key
        metric = pick_metric(group, ctx.settings.heatmap_metric, ctx.settings.directions)
        if metric is None:
            continue
        rows = group[group["metric"] == metric]
        ys, xs = axis_values(summary, spec, row_axis), axis_values(summary, spec, col_axis)
        values = np.full((len(ys), len(xs)), np.nan)
        notes = np.full(values.shape, "", dtype=object)
        for i, y in enumerate(ys):
            for j, x in enumerate(xs):
                rec = rows[(rows[row_axis].astype(str) == y) & (rows[col_axis].astype(str) == x)]
                if len(rec):
                    values[i, j] = rec["mean"].iloc[0]
                    notes[i, j] = _annotation(rec)
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(1.3 * len(xs) + 1.8, 0.75 * len(ys) + 1.0))
        cmap = "viridis_r" if direction(metric, ctx.settings.directions) == "lower" else "viridis"
        sns.heatmap(pd.DataFrame(values, index=ys, columns=xs), annot=notes, fmt="", cmap=cmap,
                    mask=~np.isfinite(values), cbar_kws={"label": f"{metric} {arrow(metric, ctx.settings.directions)}"},
                    linewidths=0.5, linecolor="white", ax=ax, annot_kws={"fontsize": 6})
        for i in range(len(ys)):
            for j in range(len(xs)):
                if not np.isfinite(values[i, j]) and notes[i, j]:
                    ax.text(j + 0.5, i + 0.5, notes[i, j], ha="center", va="center", fontsize=6, color="tab:red")
        ax.set_xlabel(col_axis)
        ax.set_ylabel(row_axis)
        where = ", ".join([dataset, *map(str, others)])
        ax.set_title(f"{ctx.study}: {where}")
        name = "_".join(["heatmap", ctx.study, dataset, *map(str, others)])
        save_figure(fig, ctx.out_dir, name)
        figures.append(Figure(name, ctx.study, f"Ablation of study {ctx.study} on {where}: mean {metric} "
                                                f"over finished seeds for each {row_axis} x {col_axis}, ± the half-width "
                                                f"of its {ctx.settings.confidence:.0%} CI ({ctx.settings.interval}); "
                                                "yellow is better; red text: no finished seed."))
    return figures


def _bar_label(r: pd.Series, axis: str) -> str:
    notes = [n for n in ("baseline" if r["baseline"] else "",
                         f"{int(r['n_unconverged'])} unconv." if r.get("n_unconverged", 0) else "",
                         f"{int(r['n_diverged'])} div." if r["n_diverged"] else "") if n]
    return str(r[axis]) + (f" ({', '.join(notes)})" if notes else "")


@register_figure("ranking", kinds=("gan", "translation"), order=40)
def ranked_bars(ctx: FigureContext) -> list[Figure]:
    """Where exactly one ablation axis varies: its values ranked by the mean of the heatmap metric, with CI bars,
    one panel per dataset."""
    summary = study_summary(ctx)
    if summary.empty:
        return []
    spec = ctx.params["studies"][ctx.study]
    varying = varying_axes(summary, spec)
    if len(varying) != 1:
        return []
    axis = varying[0]
    metric = pick_metric(summary, ctx.settings.heatmap_metric, ctx.settings.directions)
    if metric is None:
        return []
    lower = direction(metric, ctx.settings.directions) == "lower"
    rows = summary[summary["metric"] == metric]
    datasets = list(dict.fromkeys(rows["dataset"]))
    plt = pyplot()
    heights = [len(rows[rows["dataset"] == d]) for d in datasets]
    fig, axes = plt.subplots(len(datasets), 1, figsize=(4.8, sum(0.28 * h + 0.8 for h in heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, dataset in zip(axes[:, 0], datasets):
        block = rows[rows["dataset"] == dataset]
        valued = block[(block["n"] > 0) & np.isfinite(block["mean"])].sort_values("mean", ascending=lower, kind="stable")
        empty = block[~block.index.isin(valued.index)]
        order = list(valued.index) + list(empty.index)
        labels = [_bar_label(block.loc[i], axis) for i in order]
        pos = np.arange(len(order))[::-1]  # best at the top
        low = (valued["mean"] - valued["low"]).fillna(0.0).clip(lower=0.0)
        high = (valued["high"] - valued["mean"]).fillna(0.0).clip(lower=0.0)
        colors = ["0.6" if b else "tab:blue" for b in valued["baseline"]]
        bars = ax.barh(pos[:len(valued)], valued["mean"], xerr=[low, high], color=colors, capsize=2,
                       error_kw={"lw": 0.8})
        for bar, unconv in zip(bars, valued.get("n_unconverged", pd.Series(0, index=valued.index))):
            if unconv:
                bar.set_hatch("///")
                bar.set_edgecolor("white")
        for k in range(len(empty)):
            r = empty.iloc[k]
            ax.text(0, pos[len(valued) + k], "  diverged" if r["n_diverged"] else "  no value", va="center",
                    fontsize=6, color="tab:red")
        ax.set_yticks(pos, labels)
        ax.set_ylim(-0.6, len(order) - 0.4)
        ax.set_xlabel(f"{metric} {arrow(metric, ctx.settings.directions)}".strip())
        ax.set_title(f"{ctx.study}: {dataset}")
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    name = f"ranking_{ctx.study}"
    save_figure(fig, ctx.out_dir, name)
    return [Figure(name, ctx.study, f"Study {ctx.study}, its one ablation axis ({axis}) ranked by mean {metric} over "
                                    f"finished seeds, best at the top, with {ctx.settings.confidence:.0%} CI error bars "
                                    f"({ctx.settings.interval}); grey: the baseline; hatched: variants with runs that had "
                                    "not converged; variants without a finished seed are listed without a bar.")]


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
