"""The `aggregate` stage: every run's status and metrics -> one tidy table + per-variant summaries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gangrid.config import iter_runs
from gangrid.io import read_json
from gangrid.report import TABLES_DIR
from gangrid.report.stats import t_interval
from gangrid.stages.evaluate import real_metrics_path

ID_COLUMNS = ["study", "run", "dataset", "arch", "loss", "trick", "seed", "status", "step", "train_seconds"]
VARIANT = ["study", "dataset", "arch", "loss", "trick"]


def metric_values(metrics: dict[str, Any]) -> dict[str, float]:
    """The numeric metric entries of a metrics.json (protocol and status dropped)."""
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and k != "step"}


def collect_runs(params: dict[str, Any]) -> pd.DataFrame:
    """One row per run of the grid: coordinates, status, train time and every metric."""
    rows = []
    for spec in iter_runs(params):
        status = read_json(spec.dir / "status.json")
        metrics = read_json(spec.dir / "metrics.json")
        rows.append({
            "study": spec.study, "run": spec.name, "dataset": spec.dataset, "arch": spec.arch, "loss": spec.loss,
            "trick": spec.trick, "seed": spec.seed, "status": status["status"], "step": status["step"],
            "train_seconds": status.get("train_seconds", np.nan), **metric_values(metrics),
        })
    return pd.DataFrame(rows)


def collect_real(params: dict[str, Any]) -> pd.DataFrame:
    """One row per dataset with its real-data reference metrics."""
    rows = []
    for name in params["datasets"]:
        path = real_metrics_path(name)
        if path.exists():
            rows.append({"dataset": name, **metric_values(read_json(path))})
    return pd.DataFrame(rows)


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """Metric columns of the runs table (everything that is not an id column), std columns excluded."""
    return [c for c in runs.columns if c not in ID_COLUMNS and not c.endswith("_std")]


def summarise(runs: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per variant: n finished / diverged, and mean, std, CI half-width over finished seeds of each metric."""
    metrics = metric_columns(runs)
    rows = []
    for key, group in runs.groupby(VARIANT, sort=False):
        finished = group[group["status"] == "finished"]
        row: dict[str, Any] = dict(zip(VARIANT, key))
        row["n_finished"] = int(len(finished))
        row["n_diverged"] = int((group["status"] == "diverged").sum())
        for m in metrics:
            mean, std, half = t_interval(finished[m].to_numpy(dtype=float)) if m in finished else (np.nan,) * 3
            row[f"{m}_mean"], row[f"{m}_std"], row[f"{m}_ci"] = mean, std, half
        rows.append(row)
    return pd.DataFrame(rows)


def run_aggregate(params: dict[str, Any], out_dir: Path = TABLES_DIR) -> dict[str, pd.DataFrame]:
    """Write runs.csv, real.csv and <study>_summary.csv; return the frames for the table writers."""
    from gangrid.report.tables import write_tables

    runs = collect_runs(params)
    real = collect_real(params)
    summary = summarise(runs)
    frames = {"runs": runs, "real": real, "summary": summary}
    write_tables(params, frames, out_dir)
    return frames
