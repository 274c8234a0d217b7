"""What the browsable report shows of one run, as one small script file per run loaded on demand.

`reports/browse/<study>/<run>.js` calls `gangrid.run("<study>/<run>", {...})` with the run's
status.json, metric values, effective config (config.json), the config keys that differ from the
study's baseline run (same dataset, and arch unless the baseline fixes it; same seed when the
baseline has it) and its logged curves (DVCLive: losses, D outputs, gradient norms, the
in-training metrics under `eval/`), each thinned to at most `MAX_POINTS` points. A page opened
from a file:// URL may load scripts but not fetch JSON, hence scripts; loading them on demand
keeps the page's own size independent of the length of the curves.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gangrid.artifacts import RESULTS_DIR
from gangrid.config import study_baseline
from gangrid.io import read_json, write_text
from gangrid.report.columns import metric_columns
from gangrid.report.plots.curves import read_series
from gangrid.results import flatten

MAX_POINTS = 200
RUN_SECTION = "run."  # config keys naming the run itself (name, coordinates): not part of a diff


def home_study(row: dict[str, Any]) -> str:
    """The study whose results/ folder holds a run (a borrowed baseline run lives in the study that trained it)."""
    shared = row.get("shared_from")
    return shared if isinstance(shared, str) and shared else str(row["study"])


def run_key(row: dict[str, Any]) -> str:
    """`<study>/<run>` of the folder that holds the run."""
    return f"{home_study(row)}/{row['run']}"


def own_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The rows of `runs` that are not a borrowed baseline's copies (`shared_from` empty)."""
    if "shared_from" not in runs:
        return runs
    shared = runs["shared_from"]
    return runs[shared.isna() | (shared.astype(str) == "")]


def _number(value: float) -> float | None:
    return float(f"{value:.5g}") if math.isfinite(value) else None


def thin(series: pd.Series, max_points: int = MAX_POINTS) -> list[list[float | None]]:
    """[steps, values] of a curve, at most `max_points` evenly spaced points (first and last kept), 5 digits."""
    n = len(series)
    idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(int)) if n > max_points else np.arange(n)
    steps = series.index.to_numpy()[idx]
    values = series.to_numpy(dtype=float)[idx]
    return [[int(s) if float(s).is_integer() else float(s) for s in steps], [_number(v) for v in values]]


def config_diff(config: dict[str, Any], baseline: dict[str, Any]) -> list[list[Any]]:
    """[key, baseline value, run value] for every flattened config key that differs (the run's own names left out)."""
    a, b = flatten(baseline), flatten(config)
    missing = "—"
    return [[k, a.get(k, missing), b.get(k, missing)] for k in sorted(set(a) | set(b))
            if not k.startswith(RUN_SECTION) and a.get(k, missing) != b.get(k, missing)]


def baseline_runs(params: dict[str, Any], runs: pd.DataFrame) -> dict[str, str]:
    """Run key -> the run key of its baseline run (same dataset, arch unless fixed, seed when present)."""
    out: dict[str, str] = {}
    for study in params["studies"]:
        sub = runs[runs["study"] == study]
        base = study_baseline(params, study)
        is_base = np.logical_and.reduce([sub[k] == v for k, v in base.items()]) if len(sub) else np.zeros(0, bool)
        bases = sub[is_base]
        for row in own_runs(sub).to_dict("records"):
            same = bases[bases["dataset"] == row["dataset"]]
            if "arch" not in base:
                same = same[same["arch"] == row["arch"]]
            if same.empty:
                continue
            seed = same[same["seed"] == row["seed"]]
            out[run_key(row)] = run_key((seed if len(seed) else same).iloc[0].to_dict())
    return out


def _optional_json(path: Path) -> dict[str, Any]:
    return read_json(path) if path.exists() else {}


def run_payload(row: dict[str, Any], run_dir: Path, metrics: list[str], base_config: dict[str, Any] | None,
                base_key: str | None) -> dict[str, Any]:
    """Everything the run panel shows beyond the page's own run list (see the module docstring)."""
    config = _optional_json(run_dir / "config.json")
    values = {m: _number(float(row[m])) for m in metrics if m in row and pd.notna(row[m])}
    return {
        "status": _optional_json(run_dir / "status.json"),
        "metrics": values,
        "config": config,
        "baseline": base_key,
        "diff": config_diff(config, base_config) if config and base_config and base_key else [],
        "curves": {name: thin(s) for name, s in read_series(run_dir).items()},
    }


def write_run_data(params: dict[str, Any], runs: pd.DataFrame, out_dir: Path, root: Path = Path(".")) -> dict[str, Path]:
    """Write one `<study>/<run>.js` per run of the grid under `out_dir`; return run key -> file."""
    metrics = metric_columns(runs)
    bases = baseline_runs(params, runs)
    configs: dict[str, dict[str, Any]] = {}

    def config_of(key: str) -> dict[str, Any]:
        if key not in configs:
            configs[key] = _optional_json(root / RESULTS_DIR / key / "config.json")
        return configs[key]

    written: dict[str, Path] = {}
    for row in own_runs(runs).to_dict("records"):
        key = run_key(row)
        base_key = bases.get(key)
        payload = run_payload(row, root / RESULTS_DIR / key, metrics, config_of(base_key) if base_key else None, base_key)
        path = out_dir / f"{key}.js"
        text = json.dumps(payload, separators=(",", ":"), sort_keys=True, allow_nan=False)
        write_text(path, f"gangrid.run({json.dumps(key)},{text});\n")
        written[key] = path
    return written
