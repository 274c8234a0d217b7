"""The columns of the runs table: run coordinates and ids, and which columns are measured metrics."""

from __future__ import annotations

import pandas as pd

from gangrid.report.metricinfo import is_context

ID_COLUMNS = ["study", "run", "variant", "dataset", "arch", "loss", "trick", "seed", "status", "step", "train_seconds",
              "shared_from", "convergence", "eval_seconds"]
VARIANT = ["study", "dataset", "arch", "loss", "trick"]
COORDS = ["dataset", "arch", "loss", "trick"]
COST_COLUMNS = ["train_seconds"]  # summarised like metrics, never tested


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """Measured metric columns of the runs table (ids and protocol values such as `modes_total` excluded)."""
    return [c for c in runs.columns if c not in ID_COLUMNS and not is_context(c)]


def study_metrics(runs: pd.DataFrame, study: str) -> list[str]:
    """Metric columns with at least one value in `study`."""
    sub = runs[runs["study"] == study]
    return [m for m in metric_columns(runs) if sub[m].notna().any()]
