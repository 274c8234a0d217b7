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
        series = read_tsv(tsv, name)
        if series is not None:
            out[name] = series
    return out


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def read_tsv(path: Path, name: str) -> pd.Series | None:
    """One DVCLive series (`step`, [`timestamp`,] value columns): the last value column by step; None when empty
    or malformed. Plain parsing: a paper-scale grid has thousands of these small files."""
    lines = path.read_text().splitlines()
    head = lines[0].split("\t") if lines else []
    values = [c for c in head if c not in ("step", "timestamp")]
    if "step" not in head or not values or len(lines) < 2:
        return None
    at, col = head.index("step"), head.index(values[-1])
    rows = [line.split("\t") for line in lines[1:] if line]
    if any(len(r) != len(head) for r in rows):
        return None
    steps = [_float(r[at]) for r in rows]
    index = np.asarray(steps, dtype=np.int64) if all(float(x).is_integer() for x in steps) else np.asarray(steps)
    return pd.Series(np.asarray([_float(r[col]) for r in rows]), index=index, name=name)


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
