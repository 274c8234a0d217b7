"""Results as data: every run of the grid as one tidy pandas DataFrame.

`load(repo=".")` reads a repository's params.yaml and the files of every run of its grid
(status.json, metrics.json, config.json under results/<study>/<run>/) and returns one row per
run: study, grid coordinates (dataset, arch, loss, trick), seed, status, convergence verdict,
step, train and in-training-evaluation time, device, every metric, and the run's effective config
flattened into `config.<dotted.key>` columns (lists as JSON text). The aggregate stage computes
the report's tables from the same rows (`collect`), `gangrid compare` loads both experiments
with it and `gangrid results` writes it as CSV, Parquet or JSON.

    import gangrid.results
    runs = gangrid.results.load(".")
    runs.groupby(["study", "loss", "trick"])["fid359_clf"].mean()
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from gangrid.artifacts import RESULTS_DIR
from gangrid.config import PARAMS_FILE, baseline_study, iter_runs, load_params, study_baseline
from gangrid.errors import UserError
from gangrid.io import atomic_path, read_json

# the columns of a run's row before its metrics, in this order (`shared_from` only in the report's table)
RUN_COLUMNS = ["study", "run", "variant", "dataset", "arch", "loss", "trick", "seed", "status", "step",
               "train_seconds", "convergence", "eval_seconds", "device", "reason"]
CONFIG_PREFIX = "config."
NOT_TRACKED = "not tracked"  # the convergence of a run trained without in-training metrics (eval.every: 0)
FORMATS = ("csv", "parquet", "json")

Reader = Callable[[Path], "dict[str, Any] | None"]


def file_reader(root: Path | str = Path(".")) -> Reader:
    """A reader of JSON files under `root` (None for a missing file)."""
    root = Path(root)

    def read(rel: Path) -> dict[str, Any] | None:
        path = root / rel
        return read_json(path) if path.exists() else None

    return read


def metric_values(metrics: dict[str, Any]) -> dict[str, float]:
    """The numeric metric entries of a metrics.json (protocol, status and step dropped)."""
    return {k: float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "step"}


def convergence_of(status: dict[str, Any]) -> str:
    """A run's convergence verdict from its status.json (gangrid.training.convergence), `not tracked` without one."""
    conv = status.get("convergence")
    return str(conv.get("verdict", NOT_TRACKED)) if isinstance(conv, dict) else NOT_TRACKED


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings -> {dotted.key: leaf value}; lists stay whole."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: obj}


def config_columns(frame: pd.DataFrame) -> list[str]:
    """The flattened-config columns of a results frame."""
    return [c for c in frame.columns if c.startswith(CONFIG_PREFIX)]


def _config_cells(config: dict[str, Any]) -> dict[str, Any]:
    """A config.json as `config.<key>` cells: scalars as they are, lists and mappings as JSON text."""
    return {CONFIG_PREFIX + k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in flatten(config).items()}


def _uniform_types(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Config columns whose values mix kinds (numbers and text, say) become text, so the frame stores in any format."""
    for col in columns:
        kinds = {type(v) for v in frame[col] if v is not None and not (isinstance(v, float) and math.isnan(v))}
        numeric = kinds <= {int, float} or kinds <= {bool}
        if len(kinds) > 1 and not numeric:
            frame[col] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else
                          v if isinstance(v, str) else json.dumps(v) for v in frame[col]]
    return frame


def collect(params: dict[str, Any], root: Path | str = Path("."), reader: Reader | None = None, *,
            shared: bool = False, configs: bool = True) -> pd.DataFrame:
    """One row per run of the grid: coordinates, status, convergence, step, times, device, metrics (and config).

    status is the run's status.json status ('finished', 'diverged', ...),
    'missing' when the run has no status.json yet, and 'not evaluated' when it
    finished but has no metrics.json. Runs that did not finish have no metric
    values. Files are read under `root`, or through `reader` (e.g. from a git
    revision). `shared`: add to each study that borrows its baseline from another
    study those baseline runs, relabelled with it (`shared_from`, the report's
    view); `configs`: add the flattened config.json columns.
    """
    read = reader or file_reader(root)
    rows = []
    for spec in iter_runs(params):
        status = read(spec.dir / "status.json") or {"status": "missing", "step": math.nan}
        metrics = read(spec.dir / "metrics.json")
        state = status["status"]
        if state == "finished" and metrics is None:
            state = "not evaluated"
        row = {
            "study": spec.study, "run": spec.name, "variant": spec.variant, "dataset": spec.dataset,
            "arch": spec.arch, "loss": spec.loss, "trick": spec.trick, "seed": spec.seed, "status": state,
            "step": status.get("step", math.nan), "train_seconds": status.get("train_seconds", math.nan),
            "convergence": convergence_of(status) if state != "missing" else "",
            "eval_seconds": status.get("eval_seconds", math.nan), "device": status.get("device", ""),
            "reason": status.get("reason", ""),
            **(metric_values(metrics) if metrics and state == "finished" else {}),
        }
        if configs and state != "missing":
            row |= _config_cells(read(spec.dir / "config.json") or {})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=None if rows else RUN_COLUMNS)
    if configs:
        cols = config_columns(frame)
        frame = _uniform_types(frame[[c for c in frame.columns if c not in cols] + cols].copy(), cols)
    return with_shared_baselines(frame, params) if shared else frame


def with_shared_baselines(runs: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Add, to each study whose baseline lives in another study (`baseline.study`), that study's
    baseline runs on this study's datasets (and archs), relabelled with this study (`shared_from`)."""
    runs = runs.copy()
    runs["shared_from"] = ""
    extra = []
    for study, spec in params["studies"].items():
        home = baseline_study(params, study)
        if home == study or runs.empty:
            continue
        base = study_baseline(params, study)
        mask = (runs["study"] == home) & (runs["shared_from"] == "") & runs["dataset"].isin(spec["datasets"])
        if "arch" not in base:
            mask &= runs["arch"].isin(spec["archs"])
        for key, value in base.items():
            mask &= runs[key] == value
        rows = runs[mask].copy()
        rows["study"], rows["shared_from"] = study, home
        extra.append(rows)
    return pd.concat([runs, *extra], ignore_index=True) if extra else runs


def load(repo: Path | str = ".", params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Every run of `repo`'s grid as one tidy frame (see the module docstring); `params`: instead of `repo`/params.yaml."""
    repo = Path(repo)
    if params is None:
        if not (repo / PARAMS_FILE).exists():
            raise UserError(f"results: {repo} has no {PARAMS_FILE}")
        params = load_params(repo / PARAMS_FILE)
    return collect(params, repo)


def has_results(repo: Path | str) -> bool:
    """True when `repo` has a results/ folder (run files to load)."""
    return (Path(repo) / RESULTS_DIR).is_dir()


def write(frame: pd.DataFrame, fmt: str, out: Path | str | None = None) -> str | None:
    """Write `frame` as csv, parquet or json (records) to `out`; without `out`, return csv/json text instead."""
    if fmt not in FORMATS:
        raise UserError(f"results: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UserError("results: --format parquet needs pyarrow, which is not installed "
                            "(pip install 'gangrid[parquet]' or pyarrow; csv and json need nothing)") from None
        if out is None:
            raise UserError("results: parquet is binary: give an output file (-o FILE)")
        with atomic_path(out) as tmp:
            frame.to_parquet(tmp, index=False)
        return None
    text = frame.to_csv(index=False) if fmt == "csv" else frame.to_json(orient="records", indent=1) + "\n"
    if out is None:
        return text
    with atomic_path(out) as tmp:
        Path(tmp).write_text(text)
    return None
