"""The `plots` stage: every figure of every study under reports/figures/, as PNG and PDF.

Figures are registered by name with the study kinds they apply to
(`register_figure("curves", kinds=("gan", "translation"))`); `run_plots` calls
each registered figure of a study's kind (`studies.<name>.kind`, default
"gan"). A figure function takes a `FigureContext` and returns the figures it
drew (it draws nothing when its data is absent, e.g. no precision/recall
metrics). Adding a figure, or the figures of a new kind of study, is one new
module in this package; nothing else changes. reports/figures/index.json lists
every figure with its study and caption for the report writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from gangrid.config import RunSpec, iter_runs
from gangrid.io import atomic_path, write_json
from gangrid.registry import import_submodules
from gangrid.report import FIGURES_DIR, TABLES_DIR
from gangrid.report.settings import ReportSettings, report_settings


@dataclass(frozen=True)
class Figure:
    """A drawn figure: file stem (PNG and PDF exist beside each other), its study and caption."""

    stem: str
    study: str
    caption: str


@dataclass
class FigureContext:
    """What a figure function may use: the study's runs (specs and tidy tables), settings, output dir."""

    params: dict[str, Any]
    study: str
    runs: pd.DataFrame
    summary: pd.DataFrame
    real: pd.DataFrame
    settings: ReportSettings
    out_dir: Path
    specs: list[RunSpec] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """The study's kind ('gan' unless params say otherwise)."""
        return self.params["studies"][self.study].get("kind", "gan")

    @cached_property
    def status(self) -> dict[str, str]:
        """Run name -> training status from the runs table (a trained run without metrics.json counts as finished)."""
        sub = self.runs[self.runs["study"] == self.study]
        return {run: "finished" if status == "not evaluated" else status for run, status in zip(sub["run"], sub["status"])}

    def value(self, spec: RunSpec, column: str) -> float:
        """A run's value in the runs table (NaN when absent)."""
        if column not in self.runs:
            return float("nan")
        hit = self.runs.loc[(self.runs["study"] == self.study) & (self.runs["run"] == spec.name), column]
        return float(hit.iloc[0]) if len(hit) else float("nan")

    def variants(self) -> dict[str, list[RunSpec]]:
        """Variant name -> its runs, in grid order."""
        out: dict[str, list[RunSpec]] = {}
        for spec in self.specs:
            out.setdefault(spec.variant, []).append(spec)
        return out

    def finished(self, specs: list[RunSpec]) -> list[RunSpec]:
        """The runs among `specs` that finished."""
        return [s for s in specs if self.status.get(s.name) == "finished"]

    def representative(self, specs: list[RunSpec]) -> RunSpec:
        """The first finished seed of a variant (its first seed when none finished)."""
        done = self.finished(specs)
        return done[0] if done else specs[0]

    def data_kind(self, dataset: str) -> str | None:
        """'image' or 'points' from the processed manifest; None when it is absent."""
        return manifest(dataset).get("kind")


def manifest(dataset: str) -> dict[str, Any]:
    """The processed manifest of `dataset`, or {} when preprocess has not run."""
    from gangrid.data.store import processed_dir
    from gangrid.io import read_json

    path = processed_dir(dataset) / "manifest.json"
    return read_json(path) if path.exists() else {}


FigureFn = Callable[[FigureContext], list[Figure]]
FIGURES: dict[str, tuple[FigureFn, tuple[str, ...], int]] = {}


def register_figure(name: str, kinds: tuple[str, ...] = ("gan",), order: int = 50):
    """Decorator registering `fn(ctx) -> [Figure]` as figure `name` for studies of `kinds`.

    `order` places the figure in the report (lower first).
    """

    def decorator(fn: FigureFn) -> FigureFn:
        FIGURES[name] = (fn, kinds, order)
        return fn

    return decorator


def pyplot():
    """matplotlib.pyplot on the Agg backend with paper-friendly defaults (embedded TrueType fonts)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"pdf.fonttype": 42, "ps.fonttype": 42, "font.size": 8, "axes.titlesize": 8,
                         "legend.fontsize": 7, "figure.dpi": 100, "savefig.dpi": 150})
    return plt


def shared_legend(fig, axes) -> None:
    """One legend above the figure with every distinct label of `axes` (in order of first appearance)."""
    handles, labels = [], []
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), bbox_to_anchor=(0.5, 1.0), frameon=False)


def save_figure(fig, out_dir: Path, stem: str) -> None:
    """Write `fig` as `<stem>.png` and `<stem>.pdf` (no timestamps: same inputs, same bytes), then close it."""
    plt = pyplot()
    for fmt, meta in (("png", {"Software": None}), ("pdf", {"CreationDate": None, "Producer": None})):
        with atomic_path(out_dir / f"{stem}.{fmt}") as tmp:
            fig.savefig(tmp, format=fmt, bbox_inches="tight", metadata=meta)
    plt.close(fig)


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.exists() or path.stat().st_size == 0:
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def run_plots(params: dict[str, Any], out_dir: Path = FIGURES_DIR, tables_dir: Path = TABLES_DIR) -> list[Figure]:
    """Draw every registered figure of every study; write reports/figures/index.json; return the figures."""
    import_submodules(__name__)
    settings = report_settings(params)
    runs = _read_csv(tables_dir / "runs.csv")
    if runs.empty:
        from gangrid.results import collect

        runs = collect(params, shared=True, configs=False)
    summary, real = _read_csv(tables_dir / "summary.csv"), _read_csv(tables_dir / "real.csv")
    figures: list[Figure] = []
    for study in params["studies"]:
        ctx = FigureContext(params, study, runs, summary, real, settings, out_dir, list(iter_runs(params, [study])))
        for fn, kinds, _ in sorted(FIGURES.values(), key=lambda entry: entry[2]):
            if ctx.kind in kinds:
                figures += fn(ctx)
    write_json(out_dir / "index.json", {"figures": [f.__dict__ for f in figures]})
    return figures
