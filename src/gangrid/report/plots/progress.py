"""Metric-vs-step curves of every study: the in-training metrics (DVCLive `eval/` series), one row of panels
per dataset, one colour per variant: the mean over finished seeds with a band of ± one standard deviation
across seeds. The first panel of a row is the metric whose curve decides convergence; the shaded region
is the final window the convergence rule looks at. Unfinished runs are drawn dotted up to where they stopped.
"""

from __future__ import annotations

import pandas as pd

from gangrid.config import RunSpec
from gangrid.io import read_json
from gangrid.metrics import all_measures, parse_name
from gangrid.report.plots import Figure, FigureContext, pyplot, register_figure, save_figure, shared_legend
from gangrid.report.plots.curves import read_series
from gangrid.training.convergence import Rule
from gangrid.training.tracking import EVAL_PREFIX

MAX_PANELS = 4


def eval_series(spec: RunSpec) -> dict[str, pd.Series]:
    """A run's in-training metric curves: metric name -> values by step."""
    return {name.removeprefix(EVAL_PREFIX): s for name, s in read_series(spec.dir).items() if name.startswith(EVAL_PREFIX)}


def tracked_metric(spec: RunSpec) -> str:
    """The metric whose curve decided the run's convergence (from its status.json), '' when unknown."""
    path = spec.files.status
    conv = read_json(path).get("convergence") if path.exists() else None
    return str(conv.get("metric", "")) if isinstance(conv, dict) else ""


def panel_metrics(names: set[str], primary: str, wanted: tuple[str, ...]) -> list[str]:
    """The curves to draw: the tracked metric first, then the logged metrics whose stem is in `wanted`, in that order."""
    measures = all_measures()
    by_stem: dict[str, str] = {}
    for name in sorted(names):
        parsed = parse_name(name, measures.values())
        if parsed.measure is None or parsed.spread or parsed.qualifiers:
            continue
        by_stem.setdefault(parsed.measure.stem or parsed.measure.key, name)
    out = [primary] if primary in names else []
    out += [by_stem[s] for s in wanted if s in by_stem and by_stem[s] not in out]
    return out[:MAX_PANELS]


@register_figure("progress", kinds=("gan", "translation"), order=25)
def metric_vs_step(ctx: FigureContext) -> list[Figure]:
    """Per study: the in-training metric curves of every variant, a row of panels per dataset."""
    curves: dict[str, dict[str, dict[str, list[pd.Series]]]] = {}  # dataset -> variant -> metric -> seed curves
    unfinished: dict[str, dict[str, dict[str, list[pd.Series]]]] = {}
    primary: dict[str, str] = {}
    for variant, specs in ctx.variants().items():
        for spec in specs:
            series = eval_series(spec)
            if not series:
                continue
            target = curves if ctx.status.get(spec.name) == "finished" else unfinished
            for name, s in series.items():
                target.setdefault(spec.dataset, {}).setdefault(variant, {}).setdefault(name, []).append(s)
            primary.setdefault(spec.dataset, tracked_metric(spec))
    datasets = [d for d in dict.fromkeys(s.dataset for s in ctx.specs) if d in curves or d in unfinished]
    if not datasets:
        return []
    rows = {}
    for d in datasets:
        names = {n for group in (curves.get(d, {}), unfinished.get(d, {})) for per in group.values() for n in per}
        rows[d] = panel_metrics(names, primary.get(d, ""), ctx.settings.progress_metrics)
    ncol = max(len(r) for r in rows.values())
    if ncol == 0:
        return []
    plt = pyplot()
    fig, axes = plt.subplots(len(datasets), ncol, figsize=(3.0 * ncol, 2.3 * len(datasets)), squeeze=False)
    variants = list(ctx.variants())
    colors = plt.get_cmap("tab10" if len(variants) <= 10 else "tab20")
    rule = Rule.from_config((ctx.params["eval"].get("track") or {}).get("convergence"))
    steps = {s.dataset: int(ctx.params["studies"][ctx.study].get("train", {}).get("steps", 0)) for s in ctx.specs}
    for i, dataset in enumerate(datasets):
        for j in range(ncol):
            ax = axes[i][j]
            if j >= len(rows[dataset]):
                ax.axis("off")
                continue
            metric = rows[dataset][j]
            for k, variant in enumerate(variants):
                color = colors(k % colors.N)
                done = curves.get(dataset, {}).get(variant, {}).get(metric, [])
                if done:
                    frame = pd.concat(done, axis=1).sort_index()
                    mean, std = frame.mean(axis=1), frame.std(axis=1).fillna(0.0)
                    ax.plot(frame.index, mean, color=color, lw=1, label=f"{variant} ({frame.shape[1]})")
                    ax.fill_between(frame.index, mean - std, mean + std, color=color, alpha=0.2, lw=0)
                for s in unfinished.get(dataset, {}).get(variant, {}).get(metric, []):
                    ax.plot(s.index, s.to_numpy(), color=color, lw=0.7, ls=":")
            last = max((s.index.max() for per in curves.get(dataset, {}).values() for s in per.get(metric, [])),
                       default=steps.get(dataset, 0))
            if j == 0 and last:
                ax.axvspan((1 - rule.window) * last, last, color="0.85", lw=0, zorder=0)
            ax.set_title(f"{dataset}: {metric}" + (" (tracked)" if j == 0 and metric == primary.get(dataset) else ""))
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
    shared_legend(fig, axes.flat)
    fig.tight_layout()
    stem = f"progress_{ctx.study}"
    save_figure(fig, ctx.out_dir, stem)
    return [Figure(stem, ctx.study, f"Metrics during training, study {ctx.study}: mean over finished seeds (count in the "
                                    "legend) ± one standard deviation across seeds, per variant and dataset. First "
                                    f"column: the tracked metric; grey: the last {rule.window:.0%} of training, where "
                                    "the convergence rule looks for a remaining trend. Dotted: runs that did not finish.")]
