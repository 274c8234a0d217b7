"""The `aggregate` stage: every run's status and metrics -> tidy tables, per-variant summaries over
seeds, and significance of each variant against its study's baseline.

Outputs under reports/tables/: runs.csv (one row per run), real.csv (the
real-data reference rows), summary.csv (one row per variant and metric: n, mean,
std, CI), significance.csv (one row per non-baseline variant and metric: test,
p, Holm-adjusted p, effect size), and per study and metric family
`<study>_<family>.{csv,md,tex}` plus index.json describing them for the report.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gangrid.artifacts import real_metrics_path
from gangrid.config import study_baseline
from gangrid.report import TABLES_DIR
from gangrid.report.columns import COST_COLUMNS, VARIANT, study_metrics
from gangrid.report.metricinfo import direction
from gangrid.report.settings import ReportSettings, report_settings
from gangrid.report.stats import compare, holm, summarise_values
from gangrid.results import Reader, collect, file_reader, metric_values
from gangrid.training.convergence import CONVERGED, UNCONVERGED, UNDETERMINED
from gangrid.report.tables import write_tables


def collect_runs(params: dict[str, Any], root: Path = Path("."), reader: Reader | None = None) -> pd.DataFrame:
    """The report's runs table: the rows of `gangrid.results.collect` (one per run, without configs), plus each
    study's borrowed baseline runs (`shared_from`)."""
    return collect(params, root, reader, shared=True, configs=False)


REFERENCE_COLUMNS = ["reference_label", "reference_about"]  # what a dataset's reference row is, when not real data


def collect_real(params: dict[str, Any], root: Path = Path("."), reader: Reader | None = None) -> pd.DataFrame:
    """One row per dataset with its reference metrics (datasets without one are left out): real data scored like a
    generator, or what the owning kind's `reference` block names (the bicubic upsampler of super-resolution sets)."""
    read = reader or file_reader(root)
    rows = []
    for name in params["datasets"]:
        metrics = read(real_metrics_path(name))
        if metrics is not None:
            ref = metrics.get("reference") if isinstance(metrics.get("reference"), dict) else {}
            rows.append({"dataset": name, **metric_values(metrics),
                         **({"reference_label": str(ref["label"]), "reference_about": str(ref.get("about", ""))}
                            if ref.get("label") else {})})
    return pd.DataFrame(rows, columns=None if rows else ["dataset"])


def is_baseline(row: pd.Series | dict[str, Any], base: dict[str, str]) -> bool:
    """True when the variant's coordinates match every coordinate the baseline names."""
    return all(row[k] == v for k, v in base.items())


def baseline_of(variants: pd.DataFrame, row: pd.Series, base: dict[str, str]) -> pd.DataFrame:
    """The baseline variant a variant is compared with: same dataset (and arch, unless the baseline fixes it)."""
    same = variants["dataset"] == row["dataset"]
    if "arch" not in base:
        same &= variants["arch"] == row["arch"]
    mask = same & np.logical_and.reduce([variants[k] == v for k, v in base.items()])
    return variants[mask]


def summarise(runs: pd.DataFrame, params: dict[str, Any], settings: ReportSettings | None = None) -> pd.DataFrame:
    """Per variant and metric: run counts by status and n, mean, std, CI (low, high) over finished seeds."""
    settings = settings or ReportSettings()
    rows = []
    for study in params["studies"]:
        sub = runs[runs["study"] == study]
        base = study_baseline(params, study)
        metrics = study_metrics(runs, study) + [c for c in COST_COLUMNS if c in sub and sub[c].notna().any()]
        for key, group in sub.groupby(VARIANT, sort=False):
            finished = group[group["status"] == "finished"]
            head = dict(zip(VARIANT, key)) | {
                "variant": group["variant"].iloc[0],
                "baseline": is_baseline(dict(zip(VARIANT, key)), base),
                "n_runs": int(len(group)),
                "n_finished": int(len(finished)),
                "n_diverged": int((group["status"] == "diverged").sum()),
                "n_unconverged": int(finished["convergence"].isin([UNCONVERGED, UNDETERMINED]).sum())
                if "convergence" in finished else 0,
            }
            for m in metrics:
                iv = summarise_values(finished[m], settings.confidence, settings.interval,
                                      settings.bootstrap, settings.bootstrap_seed)
                rows.append(head | {"metric": m, "n": iv.n, "mean": iv.mean, "std": iv.std,
                                    "low": iv.low, "high": iv.high, "half": iv.half})
    return pd.DataFrame(rows)


SIGNIFICANCE_COLUMNS = [*VARIANT, "variant", "baseline_variant", "metric", "n", "n_baseline", "mean", "mean_baseline",
                        "diff", "test", "statistic", "p", "p_holm", "effect", "effect_name", "significant", "better",
                        "converged"]


def all_converged(runs: pd.DataFrame, variant: str) -> bool:
    """True when every finished run of `variant` (in `runs`) has the convergence verdict `converged`."""
    done = runs[(runs["variant"] == variant) & (runs["status"] == "finished")]
    return bool(len(done)) and "convergence" in done and bool((done["convergence"] == CONVERGED).all())


def significance(runs: pd.DataFrame, params: dict[str, Any], settings: ReportSettings | None = None) -> pd.DataFrame:
    """Each non-baseline variant against its baseline on every metric of its study.

    Finished seeds only. p-values are Holm-adjusted over all comparisons of one
    study and metric; `significant` is p_holm < alpha; `better` says whether the
    variant's mean is on the better side of the baseline's (empty when the
    metric's direction is unknown); `converged` whether every finished run of both
    variants converged (findings rest only on those comparisons).
    """
    settings = settings or ReportSettings()
    rows = []
    for study in params["studies"]:
        sub = runs[(runs["study"] == study) & (runs["status"] == "finished")]
        every = runs[runs["study"] == study]
        base = study_baseline(params, study)
        variants = every[VARIANT + ["variant"]].drop_duplicates()
        for metric in study_metrics(runs, study):
            block = []
            for _, row in variants.iterrows():
                if is_baseline(row, base):
                    continue
                ref = baseline_of(variants, row, base)
                if ref.empty:
                    continue
                a = sub.loc[sub["variant"] == row["variant"], metric].to_numpy(float)
                b = sub.loc[sub["variant"] == ref["variant"].iloc[0], metric].to_numpy(float)
                a, b = a[np.isfinite(a)], b[np.isfinite(b)]
                res = compare(a, b, settings.test)
                mean_a = float(a.mean()) if len(a) else math.nan
                mean_b = float(b.mean()) if len(b) else math.nan
                block.append({**{k: row[k] for k in VARIANT}, "variant": row["variant"],
                              "baseline_variant": ref["variant"].iloc[0], "metric": metric,
                              "n": len(a), "n_baseline": len(b), "mean": mean_a, "mean_baseline": mean_b,
                              "diff": mean_a - mean_b, "test": res.test, "statistic": res.statistic, "p": res.p,
                              "effect": res.effect, "effect_name": res.effect_name,
                              "converged": all_converged(every, row["variant"]) and all_converged(every, ref["variant"].iloc[0])})
            adjusted = holm([r["p"] for r in block])
            d = direction(metric, settings.directions)
            for r, p_adj in zip(block, adjusted):
                r["p_holm"] = float(p_adj)
                r["significant"] = bool(np.isfinite(p_adj) and p_adj < settings.alpha)
                r["better"] = None if d is None or not np.isfinite(r["diff"]) or r["diff"] == 0 else (
                    (r["diff"] < 0) == (d == "lower"))
            rows += block
    return pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS)


def run_aggregate(params: dict[str, Any], out_dir: Path = TABLES_DIR, root: Path = Path(".")) -> dict[str, pd.DataFrame]:
    """Write every table under `out_dir`; return the frames (runs, real, summary, significance)."""
    settings = report_settings(params)
    runs = collect_runs(params, root)
    frames = {
        "runs": runs,
        "real": collect_real(params, root),
        "summary": summarise(runs, params, settings),
        "significance": significance(runs, params, settings),
    }
    write_tables(params, frames, settings, out_dir)
    return frames
