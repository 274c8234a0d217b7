"""Training curves from the DVCLive logs: one panel per logged series (D/G losses, D outputs, gradient norms of G
and D; the in-training metrics under `eval/` are the progress figure's).

Reads `results/<study>/<run>/train_log/plots/metrics/**/*.tsv` (columns `step`
and the value). Per variant: the mean over finished seeds at each logged step
with a min-max band; diverged seeds are drawn as thin dotted lines up to the
step they stopped at. Timing series (steps per second, seconds) are left out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gangrid.artifacts import RunFiles
from gangrid.config import RunSpec
from gangrid.training.log import TABLES
from gangrid.training.tracking import EVAL_PREFIX
from gangrid.report.plots import Figure, FigureContext, pyplot, register_figure, save_figure, shared_legend

SKIP = ("per_sec", "seconds", "time")


def read_series(run_dir: Path) -> dict[str, pd.Series]:
    """Logged series of a run: name (path under metrics/ without .tsv) -> values indexed by step."""
    root = RunFiles(run_dir).train_log / TABLES
    out: dict[str, pd.Series] = {}
    for tsv in sorted(root.rglob("*.tsv")) if root.exists() else []:
        name = tsv.relative_to(root).with_suffix("").as_posix()
        if any(s in name for s in SKIP):
            continue
        try:
            df = pd.read_csv(tsv, sep="\t")
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            continue
        value_cols = [c for c in df.columns if c not in ("step", "timestamp")]
        if "step" in df and value_cols and len(df):
            out[name] = pd.Series(pd.to_numeric(df[value_cols[-1]], errors="coerce").to_numpy(),
                                  index=df["step"].to_numpy(), name=name)
    return out


def _variant_curves(ctx: FigureContext, specs: list[RunSpec]) -> tuple[dict[str, list[pd.Series]], dict[str, list[pd.Series]]]:
    done: dict[str, list[pd.Series]] = {}
    failed: dict[str, list[pd.Series]] = {}
    for spec in specs:
        target = done if ctx.status.get(spec.name) == "finished" else failed
        for name, series in read_series(spec.dir).items():
            target.setdefault(name, []).append(series)
    return done, failed


@register_figure("curves", kinds=("gan", "translation"), order=30)
def training_curves(ctx: FigureContext) -> list[Figure]:
    """Every logged training series of the study, one panel each, one colour per variant."""
    curves = {name: _variant_curves(ctx, specs) for name, specs in ctx.variants().items()}
    for done, failed in curves.values():
        for group in (done, failed):
            for series_name in [n for n in group if n.startswith(EVAL_PREFIX)]:
                del group[series_name]
    names = sorted({s for done, failed in curves.values() for s in (*done, *failed)})
    if not names:
        return []
    plt = pyplot()
    ncol = min(3, len(names))
    nrow = int(np.ceil(len(names) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.3 * nrow), squeeze=False)
    colors = plt.get_cmap("tab10" if len(curves) <= 10 else "tab20")
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    for ax, series_name in zip(axes.flat, names):
        for i, (variant, (done, failed)) in enumerate(curves.items()):
            color = colors(i % colors.N)
            if series_name in done:
                frame = pd.concat(done[series_name], axis=1).sort_index()
                ax.plot(frame.index, frame.mean(axis=1), color=color, lw=1, label=variant)
                if frame.shape[1] > 1:
                    ax.fill_between(frame.index, frame.min(axis=1), frame.max(axis=1), color=color, alpha=0.2, lw=0)
            for k, s in enumerate(failed.get(series_name, [])):
                label = f"{variant} (not finished)" if k == 0 and series_name not in done else None
                ax.plot(s.index, s.to_numpy(), color=color, lw=0.7, ls=":", marker=".", ms=2, label=label)
        ax.set_title(series_name)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    shared_legend(fig, axes.flat[:len(names)])
    fig.tight_layout()
    stem = f"curves_{ctx.study}"
    save_figure(fig, ctx.out_dir, stem)
    return [Figure(stem, ctx.study, f"Training curves of study {ctx.study} (DVCLive logs): mean over finished seeds "
                                    "with min-max band; dotted lines are runs that diverged.")]
