"""Table writers: CSV for machines, Markdown for the report (mean ± 95% CI over seeds, real-data row)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from gangrid.io import write_text
from gangrid.report.aggregate import VARIANT, metric_columns


def fmt(mean: float, half: float, digits: int = 3) -> str:
    """`mean ± half` (or just `mean` when the interval is undefined; `–` when there is no value)."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if half is None or (isinstance(half, float) and math.isnan(half)):
        return f"{mean:.{digits}g}"
    return f"{mean:.{digits}g} ± {half:.2g}"


def study_metrics(runs: pd.DataFrame, study: str) -> list[str]:
    """Metric columns that have at least one value in `study`."""
    sub = runs[runs["study"] == study]
    return [m for m in metric_columns(runs) if m in sub and sub[m].notna().any()]


def study_table(summary: pd.DataFrame, real: pd.DataFrame, runs: pd.DataFrame, study: str) -> pd.DataFrame:
    """Display table of one study: one row per variant, then a real-data row per dataset."""
    metrics = study_metrics(runs, study)
    sub = summary[summary["study"] == study]
    rows = []
    for _, r in sub.iterrows():
        row = {c: r[c] for c in VARIANT[1:]}
        row["seeds (ok/div)"] = f"{r['n_finished']}/{r['n_diverged']}"
        for m in metrics:
            row[m] = fmt(r[f"{m}_mean"], r[f"{m}_ci"])
        rows.append(row)
    for ds in sub["dataset"].unique():
        ref = real[real["dataset"] == ds] if len(real) else real
        if len(ref):
            row = {"dataset": ds, "arch": "real data", "loss": "–", "trick": "–", "seeds (ok/div)": "–"}
            for m in metrics:
                row[m] = fmt(float(ref.iloc[0][m]), math.nan) if m in ref and pd.notna(ref.iloc[0][m]) else "–"
            rows.append(row)
    return pd.DataFrame(rows)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(str(row[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def write_tables(params: dict[str, Any], frames: dict[str, pd.DataFrame], out_dir: Path) -> None:
    """runs.csv, real.csv, summary.csv and <study>.{csv,md} under `out_dir`."""
    runs, real, summary = frames["runs"], frames["real"], frames["summary"]
    write_text(out_dir / "runs.csv", runs.to_csv(index=False))
    write_text(out_dir / "real.csv", real.to_csv(index=False))
    write_text(out_dir / "summary.csv", summary.to_csv(index=False))
    for study in params["studies"]:
        table = study_table(summary, real, runs, study)
        write_text(out_dir / f"{study}.csv", table.to_csv(index=False))
        write_text(out_dir / f"{study}.md", to_markdown(table))
