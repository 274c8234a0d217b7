"""`gangrid compare A [B]`: params and metric differences between two experiments, side by side.

An experiment is a directory (a checkout or a copy of the repository with its
params.yaml and results/ or reports/tables/runs.csv), a git revision (HEAD~1,
a branch, a tag) or a DVC experiment name (`dvc exp run` stores experiments
as git refs under refs/exps; their cache: false outputs, metrics.json and
reports/tables, travel with them). B defaults to the working tree.

Shown: every params key whose value differs, then per study, variant and
metric the mean ± CI over finished seeds in A and in B, the difference B - A
and a Welch t-test p-value (unadjusted: this is a look between two grids, not
the report's confirmatory test), and the finished/diverged counts. For DVC's
own views of the same information see `dvc params diff A B`, `dvc metrics diff
A B` and `dvc exp show`.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from gangrid.config import PARAMS_FILE, check_schema
from gangrid.errors import UserError
from gangrid.yaml12 import load_yaml
from gangrid.report import TABLES_DIR
from gangrid.report.columns import VARIANT, metric_columns
from gangrid.report.metricinfo import direction
from gangrid.report.stats import summarise_values, welch_t
from gangrid.report.tables import decimals
from gangrid.results import collect, flatten, has_results


@dataclass
class Experiment:
    """One side of a comparison: its label, params and tidy runs table."""

    label: str
    params: dict[str, Any]
    runs: pd.DataFrame


def _git(args: list[str], cwd: Path = Path(".")) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UserError(f"compare: cannot run git: {exc}") from None


def resolve_revision(ref: str) -> str | None:
    """The commit of a git revision or of a DVC experiment name (refs/exps/**/<name>); None if neither."""
    proc = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"])
    if proc.returncode == 0:
        return proc.stdout.strip()
    refs = _git(["for-each-ref", "--format=%(refname) %(objectname)", "refs/exps"]).stdout.split("\n")
    hits = [line.split()[1] for line in refs if line and line.split()[0].rsplit("/", 1)[-1] == ref]
    return hits[0] if len(hits) == 1 else None


def git_text(commit: str, path: str | Path) -> str | None:
    """The text of `path` at `commit`, or None when the revision has no such file."""
    proc = _git(["show", f"{commit}:{Path(path).as_posix()}"])
    return proc.stdout if proc.returncode == 0 else None


def _git_reader(commit: str) -> Callable[[Path], dict[str, Any] | None]:
    def read(rel: Path) -> dict[str, Any] | None:
        text = git_text(commit, rel)
        if text is None:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise UserError(f"compare: {commit[:8]}:{rel} is not valid JSON") from None

    return read


def _params_from_text(text: str, where: str) -> dict[str, Any]:
    params = load_yaml(text, f"compare: {where}")  # YAML 1.2, as gangrid and DVC read params.yaml
    if not isinstance(params, dict):
        raise UserError(f"compare: {where} is not a mapping")
    check_schema(params, source=where)
    return params


def load_experiment(ref: str) -> Experiment:
    """Params and runs of a directory, git revision or DVC experiment, through `gangrid.results`.

    A directory's runs are read from its run files (`gangrid.results.collect`, the rows of
    `gangrid.results.load` with each study's borrowed baseline runs, as in the report's tables), or
    from its reports/tables/runs.csv when it has no results/ folder; a revision's from its runs.csv
    (written by the aggregate stage from the same loader) when it has one, else from its run files.
    """
    path = Path(ref)
    if path.is_dir():
        params_path = path / PARAMS_FILE
        if not params_path.exists():
            raise UserError(f"compare: {path} has no {PARAMS_FILE}")
        params = _params_from_text(params_path.read_text(), str(params_path))
        table = path / TABLES_DIR / "runs.csv"
        runs = (pd.read_csv(table) if table.exists() and not has_results(path)
                else collect(params, path, shared=True, configs=False))
        return Experiment(ref, params, runs)
    commit = resolve_revision(ref)
    if commit is None:
        raise UserError(f"compare: '{ref}' is neither a directory nor a git revision or DVC experiment name")
    text = git_text(commit, PARAMS_FILE)
    if text is None:
        raise UserError(f"compare: revision '{ref}' has no {PARAMS_FILE}")
    params = _params_from_text(text, f"{ref}:{PARAMS_FILE}")
    table = git_text(commit, TABLES_DIR / "runs.csv")
    runs = pd.read_csv(io.StringIO(table)) if table else collect(params, reader=_git_reader(commit),
                                                                      shared=True, configs=False)
    return Experiment(ref, params, runs)


def params_diff(a: dict[str, Any], b: dict[str, Any]) -> pd.DataFrame:
    """Keys whose values differ (absent on one side shows as '—'), sorted by key."""
    fa, fb = flatten(a), flatten(b)
    rows = []
    for key in sorted(set(fa) | set(fb)):
        va, vb = fa.get(key, "—"), fb.get(key, "—")
        if va != vb:
            rows.append({"key": key, "A": json.dumps(va) if not isinstance(va, str) else va,
                         "B": json.dumps(vb) if not isinstance(vb, str) else vb})
    return pd.DataFrame(rows, columns=["key", "A", "B"])


def _fmt(mean: float, half: float, n: int) -> str:
    if math.isnan(mean):
        return "—"
    d = decimals(mean, half)
    return f"{mean:.{d}f}" + (f" ± {half:.{d}f}" if not math.isnan(half) else "") + f" (n={n})"


def metrics_diff(a: Experiment, b: Experiment, studies: list[str] | None = None, metrics: list[str] | None = None,
                 confidence: float = 0.95) -> pd.DataFrame:
    """Per study, variant and metric: A and B (mean ± CI, n), B - A, Welch p, and run counts of each side."""
    cols = [c for c in dict.fromkeys(metric_columns(a.runs) + metric_columns(b.runs)) if c != "train_seconds"]
    if metrics:
        cols = [c for c in cols if any(c == m or c.startswith(m) for m in metrics)]
    keys = pd.concat([a.runs[VARIANT], b.runs[VARIANT]]).drop_duplicates()
    if studies:
        keys = keys[keys["study"].isin(studies)]
    rows = []
    for key in keys.itertuples(index=False):
        want = key._asdict()
        sides = [exp.runs[(exp.runs[VARIANT] == pd.Series(want)).all(axis=1)] for exp in (a, b)]
        counts = [f"{int((s['status'] == 'finished').sum())}/{int((s['status'] == 'diverged').sum())}" if len(s) else "—"
                  for s in sides]
        for m in cols:
            vals = [s.loc[s["status"] == "finished", m].to_numpy(float) if len(s) and m in s else [] for s in sides]
            ivs = [summarise_values(v, confidence) for v in vals]
            if all(iv.n == 0 for iv in ivs):
                continue
            diff = ivs[1].mean - ivs[0].mean
            d = direction(m)
            better = "" if d is None or math.isnan(diff) or diff == 0 else ("B" if (diff < 0) == (d == "lower") else "A")
            rows.append({"study": key.study, "variant": f"{key.dataset}-{key.arch}-{key.loss}-{key.trick}", "metric": m,
                         "A": _fmt(ivs[0].mean, ivs[0].half, ivs[0].n), "B": _fmt(ivs[1].mean, ivs[1].half, ivs[1].n),
                         "B-A": "—" if math.isnan(diff) else f"{diff:+.{decimals(abs(diff))}f}",
                         "better": better, "p_welch": welch_t(*vals)[2], "runs A ok/div": counts[0],
                         "runs B ok/div": counts[1]})
    return pd.DataFrame(rows, columns=["study", "variant", "metric", "A", "B", "B-A", "better", "p_welch",
                                       "runs A ok/div", "runs B ok/div"])


def render(a: Experiment, b: Experiment, pdiff: pd.DataFrame, mdiff: pd.DataFrame, fmt: str = "text") -> str:
    """The comparison as aligned text, Markdown, CSV (metrics only) or JSON."""
    if fmt == "json":
        return json.dumps({"A": a.label, "B": b.label, "params": pdiff.to_dict("records"),
                           "metrics": json.loads(mdiff.to_json(orient="records"))}, indent=2)
    if fmt == "csv":
        return mdiff.to_csv(index=False)
    shown = mdiff.assign(p_welch=mdiff["p_welch"].map(lambda p: "—" if math.isnan(p) else f"{p:.3g}"))

    def table(df: pd.DataFrame) -> str:
        if df.empty:
            return "(none)"
        if fmt == "md":
            head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
            return head + "\n".join("| " + " | ".join(str(v) for v in r) + " |" for r in df.itertuples(index=False))
        return df.to_string(index=False)

    return (f"A = {a.label}    B = {b.label}\n\n"
            f"params that differ ({len(pdiff)}):\n{table(pdiff)}\n\n"
            "metrics per variant: mean ± 95% t-interval over finished seeds (n); better = side with the better mean; "
            "p_welch: Welch t-test, unadjusted:\n" + table(shown) + "\n")


def run_compare(ref_a: str, ref_b: str = ".", studies: list[str] | None = None, metrics: list[str] | None = None,
                fmt: str = "text", changed: bool = False) -> str:
    """Load both experiments and return the rendered comparison (`changed`: only rows whose values differ)."""
    a, b = load_experiment(ref_a), load_experiment(ref_b)
    mdiff = metrics_diff(a, b, studies, metrics)
    if changed:
        mdiff = mdiff[(mdiff["A"] != mdiff["B"]) | (mdiff["runs A ok/div"] != mdiff["runs B ok/div"])]
    return render(a, b, params_diff(a.params, b.params), mdiff, fmt)
