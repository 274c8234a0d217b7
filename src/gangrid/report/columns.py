"""The columns of the runs table: run coordinates and ids, and which columns are measured metrics."""

from __future__ import annotations

import pandas as pd

from gangrid.report.metricinfo import is_context
from gangrid.results import CONFIG_PREFIX, RUN_COLUMNS

ID_COLUMNS = [*RUN_COLUMNS, "shared_from"]
VARIANT = ["study", "dataset", "arch", "loss", "trick"]
COORDS = ["dataset", "arch", "loss", "trick"]
COST_COLUMNS = ["train_seconds"]  # summarised like metrics, never tested


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """Measured metric columns of the runs table (ids, configs and protocol values such as `modes_total` excluded)."""
    return [c for c in runs.columns if c not in ID_COLUMNS and not c.startswith(CONFIG_PREFIX) and not is_context(c)]


def study_metrics(runs: pd.DataFrame, study: str) -> list[str]:
    """Metric columns with at least one value in `study`."""
    sub = runs[runs["study"] == study]
    return [m for m in metric_columns(runs) if sub[m].notna().any()]
