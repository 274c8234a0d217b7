"""Per study and metric family tables: a display model, then CSV, Markdown and LaTeX (booktabs) renderings.

A table has one row per variant (mean and CI over finished seeds, run counts),
grouped by dataset, each group followed by the dataset's real-data reference
row. The best mean per dataset and metric (by the metric's direction) is bold,
the baseline's coordinates are italic, and values that differ from the baseline
with a Holm-adjusted p < alpha carry a dagger (†). A variant whose seeds all diverged
shows `diverged` in every metric cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gangrid.io import write_json, write_text
from gangrid.report.columns import COORDS, study_metrics
from gangrid.report.latex import escape
from gangrid.report.metricinfo import Family, arrow, direction, families, family, label
from gangrid.report.settings import ReportSettings

TEST_NAMES = {"welch": "Welch t-test", "mannwhitney": "Mann-Whitney U test"}
COORD_TITLES = {"dataset": "Dataset", "arch": "Arch", "loss": "Loss", "trick": "Trick"}


def isnan(x: Any) -> bool:
    """True for None and float NaN."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def decimals(value: float, half: float = math.nan) -> int:
    """Decimals to print: two significant digits of the CI half-width, else three of the value (0..6)."""
    if not isnan(half) and half > 0:
        d = 1 - math.floor(math.log10(half))
    elif isnan(value) or value == 0:
        d = 0
    else:
        d = 2 - math.floor(math.log10(abs(value)))
    return max(0, min(6, d))


@dataclass
class Cell:
    """One metric of one row: mean and interval, or a state ('diverged', 'missing', 'none')."""

    mean: float = math.nan
    low: float = math.nan
    high: float = math.nan
    n: int = 0
    state: str = "value"
    best: bool = False
    significant: bool = False
    p_holm: float = math.nan

    def numbers(self, interval: str) -> tuple[str, str] | None:
        """(mean, interval) as text with matching decimals; interval '' when undefined; None without a value."""
        if self.state != "value" or isnan(self.mean):
            return None
        half = (self.high - self.low) / 2 if not (isnan(self.low) or isnan(self.high)) else math.nan
        d = decimals(self.mean, half)
        mean = f"{self.mean:.{d}f}"
        if isnan(half):
            return mean, ""
        if interval == "bootstrap":
            return mean, f"[{self.low:.{d}f}, {self.high:.{d}f}]"
        return mean, f"{half:.{d}f}"


@dataclass
class Row:
    """A table row: coordinates, kind ('variant', 'baseline' or 'real'), run counts and cells by metric."""

    coords: dict[str, str]
    kind: str
    cells: dict[str, Cell]
    n_runs: int = 0
    n_finished: int = 0
    n_diverged: int = 0
    n_unconverged: int = 0  # finished runs whose tracked metric had not converged (or too few evaluations to tell)

    def seeds(self) -> str:
        """Run counts: `3`, `2 + 1 div.`, `3 (1 unconv.)`, `+ 1 n/a` when runs have no status yet."""
        if self.kind == "real":
            return "–"
        text = str(self.n_finished)
        if self.n_unconverged:
            text += f" ({self.n_unconverged} unconv.)"
        if self.n_diverged:
            text += f" + {self.n_diverged} div."
        other = self.n_runs - self.n_finished - self.n_diverged
        if other:
            text += f" + {other} n/a"
        return text


@dataclass
class StudyTable:
    """The display model of one study's table for one metric family."""

    study: str
    family: Family
    metrics: list[str]
    rows: list[Row]
    settings: ReportSettings
    caption: str = ""
    directions: dict[str, str | None] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        """File stem: `<study>_<family>`."""
        return f"{self.study}_{self.family.key}"


def families_of(metrics: list[str]) -> dict[str, list[str]]:
    """Metrics grouped by family key, families in report order."""
    groups: dict[str, list[str]] = {}
    for fam in families():
        members = [m for m in metrics if family(m).key == fam.key]
        if members:
            groups[fam.key] = members
    return groups


def by_variant_metric(frame: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """The rows of a summary or significance table by (variant, metric), the first one where several match."""
    if frame.empty:
        return {}
    keys = zip(frame["variant"], frame["metric"])
    return dict(reversed(list(zip(keys, frame.to_dict("records")))))


def _cells(summary: dict[tuple[str, str], dict[str, Any]], sig: dict[tuple[str, str], dict[str, Any]], variant: str,
           metrics: list[str], counts: dict[str, int]) -> dict[str, Cell]:
    cells = {}
    for m in metrics:
        r = summary.get((variant, m))
        s = sig.get((variant, m))
        if counts["n_finished"] == 0:
            state = "diverged" if counts["n_diverged"] else "missing"
            cells[m] = Cell(state=state)
        elif r is None or r["n"] == 0:
            cells[m] = Cell(state="none")
        else:
            cells[m] = Cell(float(r["mean"]), float(r["low"]), float(r["high"]), int(r["n"]))
        if s is not None:
            cells[m].significant = bool(s["significant"])
            cells[m].p_holm = float(s["p_holm"])
    return cells


def mark_best(rows: list[Row], metrics: list[str], directions: dict[str, str | None]) -> None:
    """Bold the best variant mean of each metric (ties: all of them); needs two or more values."""
    for m in metrics:
        d = directions.get(m)
        vals = [(r, r.cells[m].mean) for r in rows if r.kind != "real" and r.cells[m].state == "value" and not isnan(r.cells[m].mean)]
        if d is None or len(vals) < 2:
            continue
        best = min(v for _, v in vals) if d == "lower" else max(v for _, v in vals)
        if all(v == best for _, v in vals):
            continue  # a tie of every variant singles nothing out
        for r, v in vals:
            r.cells[m].best = v == best


def study_table(study: str, fam: Family, metrics: list[str], frames: dict[str, pd.DataFrame],
                settings: ReportSettings, params: dict[str, Any]) -> StudyTable:
    """The display model of `study`'s table for family `fam` (dataset blocks without any value are left out)."""
    summary = frames["summary"][frames["summary"]["study"] == study]
    sig = frames["significance"]
    sig = sig[sig["study"] == study] if len(sig) else sig
    real = frames["real"]
    directions = {m: direction(m, settings.directions) for m in metrics}
    variants = summary.drop_duplicates("variant")
    records, tests = by_variant_metric(summary), by_variant_metric(sig)
    rows: list[Row] = []
    for dataset in variants["dataset"].unique():
        block: list[Row] = []
        for _, v in variants[variants["dataset"] == dataset].iterrows():
            counts = {k: int(v[k]) for k in ("n_runs", "n_finished", "n_diverged", "n_unconverged") if k in v}
            block.append(Row({c: v[c] for c in COORDS}, "baseline" if v["baseline"] else "variant",
                             _cells(records, tests, v["variant"], metrics, counts), **counts))
        ref = real[real["dataset"] == dataset] if "dataset" in real else real.iloc[0:0]
        real_cells = {m: Cell(float(ref[m].iloc[0])) if len(ref) and m in ref and pd.notna(ref[m].iloc[0]) else Cell(state="none")
                      for m in metrics}
        has_values = any(c.state == "value" for r in block for c in r.cells.values()) or any(
            c.state == "value" for c in real_cells.values())
        if not has_values:
            continue
        mark_best(block, metrics, directions)
        rows += block
        if any(c.state == "value" for c in real_cells.values()):
            rows.append(Row({"dataset": dataset, "arch": reference_label(ref), "loss": "", "trick": ""}, "real", real_cells))
    table = StudyTable(study, fam, metrics, rows, settings, directions=directions)
    table.caption = caption(table, params, frames["runs"], real)
    return table


REAL_DATA = "real data"


def reference_label(ref: pd.DataFrame) -> str:
    """The name of a dataset's reference row: `real data`, or the label its kind gave it (`bicubic x2`)."""
    if len(ref) and "reference_label" in ref and isinstance(ref["reference_label"].iloc[0], str):
        return str(ref["reference_label"].iloc[0])
    return REAL_DATA


def reference_notes(table: "StudyTable", real: pd.DataFrame) -> list[str]:
    """One caption sentence per kind of reference row in the table."""
    labels = {r.coords["arch"]: r.coords["dataset"] for r in table.rows if r.kind == "real"}
    notes = []
    if REAL_DATA in labels:
        notes.append("Real data: held-out real samples scored like a generator (the floor).")
    for label, dataset in labels.items():
        if label != REAL_DATA:
            about = real.loc[real["dataset"] == dataset, "reference_about"] if "reference_about" in real else []
            text = str(about.iloc[0]) if len(about) and isinstance(about.iloc[0], str) else "the dataset's reference"
            notes.append(f"{label[0].upper()}{label[1:]}: {text}.")
    return notes


def caption(table: StudyTable, params: dict[str, Any], runs: pd.DataFrame, frames_real: pd.DataFrame | None = None) -> str:
    """Plain-text caption: what the numbers are, the protocol (N, extractor), the marks, the real-data row."""
    s = table.settings
    ev = params.get("eval", {})
    ci = "± half-width of the" if s.interval == "t" else "[low, high]:"
    method = "t-interval" if s.interval == "t" else f"percentile bootstrap, {s.bootstrap} resamples"
    parts = [
        f"Study {table.study}: mean {ci} {s.confidence:.0%} CI ({method}) over finished seeds; "
        "Seeds counts finished (+ diverged) runs, diverged runs are excluded from the means; "
        "'unconv.' counts finished runs whose tracked metric had not converged (still moving over the last part of "
        "training, or too few evaluations to tell): they are in the means, but no finding rests on their variant.",
        f"n generated samples per run against as many held-out test samples (n = min({ev.get('n_samples', '?')}, "
        f"test split size), carried in the metric names), extractor: {ev.get('extractor', '?')}.",
        "Bold: best mean per dataset (↓/↑: lower/higher is better); italic: baseline; "
        f"†: differs from the baseline, Holm-adjusted p < {s.alpha:g} ({TEST_NAMES[s.test]}).",
    ]
    parts += reference_notes(table, frames_real) if frames_real is not None else []
    if "modes_total" in runs and table.family.key == "modes":
        sub = runs[(runs["study"] == table.study) & runs["modes_total"].notna()]
        totals = sub.drop_duplicates("dataset")[["dataset", "modes_total"]]
        if len(totals):
            parts.append("Modes out of " + ", ".join(f"{int(t)} ({d})" for d, t in totals.itertuples(index=False)) + ".")
    return " ".join(parts)


# ---------------------------------------------------------------- renderers


def text_cell(cell: Cell, interval: str, markdown: bool = True) -> str:
    """A cell as text: `mean ± half` (or `mean [low, high]`), `**bold**` when best (Markdown), `†` when significant."""
    if cell.state == "diverged":
        return "diverged"
    nums = cell.numbers(interval)
    if nums is None:
        return "–"
    mean, spread = nums
    text = mean if not spread else (f"{mean} ± {spread}" if interval == "t" else f"{mean} {spread}")
    if cell.best and markdown:
        text = f"**{text}**"
    return text + ("†" if cell.significant else "")


def to_markdown(table: StudyTable) -> str:
    """GitHub-flavoured Markdown rendering (bold best, italic baseline, `*` significant)."""
    head = [COORD_TITLES[c] for c in COORDS] + ["Seeds"] + [f"{m} {arrow(m, table.settings.directions)}".strip() for m in table.metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 5 + ["---:"] * len(table.metrics)) + "|"]
    for r in table.rows:
        coords = [str(r.coords[c]) if r.coords[c] != "" else "–" for c in COORDS]
        if r.kind == "baseline":
            coords = coords[:1] + [f"_{c}_" for c in coords[1:]]
        if r.kind == "real":
            coords = [coords[0], f"_{r.coords['arch']}_", "–", "–"]
        cells = [text_cell(r.cells[m], table.settings.interval) for m in table.metrics]
        lines.append("| " + " | ".join(coords + [r.seeds()] + cells) + " |")
    return "\n".join(lines) + "\n"


def _latex_cell(cell: Cell, interval: str) -> str:
    if cell.state == "diverged":
        return r"\textit{diverged}"
    nums = cell.numbers(interval)
    if nums is None:
        return "--"
    mean, spread = nums
    if cell.best:
        mean = rf"\mathbf{{{mean}}}"
    body = mean if not spread else (rf"{mean} \pm {spread}" if interval == "t" else rf"{mean}\,{spread}")
    if cell.significant:
        body += r"^{\dagger}"
    return f"${body}$"


def to_latex(table: StudyTable) -> str:
    """A booktabs `tabular` (no float: the paper wraps it in a captioned table); best bold, CI as \\pm."""
    n = len(table.metrics)
    head = [COORD_TITLES[c] for c in COORDS] + ["Seeds"]
    head += [f"{label(m, latex=True)} {arrow(m, table.settings.directions, latex=True)}".strip() for m in table.metrics]
    lines = [f"% {table.stem}: generated by `gangrid aggregate`; do not edit.",
             r"\begin{tabular}{llll" + "r" + "r" * n + "}", r"\toprule", " & ".join(head) + r" \\", r"\midrule"]
    previous = None
    for r in table.rows:
        if previous is not None and r.coords["dataset"] != previous and r.kind != "real":
            lines.append(r"\midrule")
        previous = r.coords["dataset"]
        cells = [_latex_cell(r.cells[m], table.settings.interval) for m in table.metrics]
        if r.kind == "real":
            row = [escape(r.coords["dataset"]), r"\multicolumn{3}{l}{\textit{" + escape(r.coords["arch"]) + "}}", "--"]
        else:
            coords = [escape(r.coords[c]) for c in COORDS]
            if r.kind == "baseline":
                coords = coords[:1] + [rf"\textit{{{c}}}" for c in coords[1:]]
            row = coords + [escape(r.seeds()).replace("–", "--")]
        lines.append(" & ".join(row + cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def to_csv(table: StudyTable) -> str:
    """Numbers for plotting tools: one row per variant (and real-data row) with mean, low, high, n, p_holm per metric."""
    rows = []
    for r in table.rows:
        row: dict[str, Any] = {**r.coords, "kind": r.kind, "n_runs": r.n_runs, "n_finished": r.n_finished,
                               "n_diverged": r.n_diverged, "n_unconverged": r.n_unconverged}
        for m in table.metrics:
            c = r.cells[m]
            row |= {f"{m}_mean": c.mean, f"{m}_low": c.low, f"{m}_high": c.high, f"{m}_n": c.n,
                    f"{m}_p_holm": c.p_holm, f"{m}_state": c.state}
        rows.append(row)
    return pd.DataFrame(rows).to_csv(index=False)


def runs_markdown(runs: pd.DataFrame) -> str:
    """Every run with its status (finished / diverged at step N / missing), convergence verdict and train time."""
    lines = ["| Study | Run | Status | Convergence | Step | Train (s) |", "|---|---|---|---|---:|---:|"]
    for r in runs.to_dict("records"):
        step = "–" if isnan(r["step"]) else str(int(r["step"]))
        secs = "–" if isnan(r["train_seconds"]) else f"{r['train_seconds']:.1f}"
        conv = r.get("convergence") if r["status"] == "finished" and isinstance(r.get("convergence"), str) else "–"
        lines.append(f"| {r['study']} | {r['run']} | {r['status']} | {conv} | {step} | {secs} |")
    return "\n".join(lines) + "\n"


def study_tables(params: dict[str, Any], frames: dict[str, pd.DataFrame], settings: ReportSettings) -> list[StudyTable]:
    """Every (study, metric family) table with at least one row."""
    runs, summary = frames["runs"], frames["summary"]
    tables = []
    for study in params["studies"]:
        if summary.empty or not (summary["study"] == study).any():
            continue
        metrics = study_metrics(runs, study) + (["train_seconds"] if (summary["metric"] == "train_seconds").any() else [])
        for key, members in families_of(metrics).items():
            fam = next(f for f in families() if f.key == key)
            table = study_table(study, fam, members, frames, settings, params)
            if table.rows:
                tables.append(table)
    return tables


def write_tables(params: dict[str, Any], frames: dict[str, pd.DataFrame], settings: ReportSettings, out_dir: Path) -> list[StudyTable]:
    """runs/real/summary/significance CSVs, runs.md, every `<study>_<family>.{csv,md,tex}` and index.json."""
    write_text(out_dir / "runs.csv", frames["runs"].to_csv(index=False))
    write_text(out_dir / "runs.md", runs_markdown(frames["runs"]))
    write_text(out_dir / "real.csv", frames["real"].to_csv(index=False))
    write_text(out_dir / "summary.csv", frames["summary"].to_csv(index=False))
    write_text(out_dir / "significance.csv", frames["significance"].to_csv(index=False))
    tables = study_tables(params, frames, settings)
    index = []
    for t in tables:
        write_text(out_dir / f"{t.stem}.csv", to_csv(t))
        write_text(out_dir / f"{t.stem}.md", to_markdown(t))
        write_text(out_dir / f"{t.stem}.tex", to_latex(t))
        index.append({"study": t.study, "family": t.family.key, "title": t.family.title, "stem": t.stem,
                      "metrics": t.metrics, "caption": t.caption})
    write_json(out_dir / "index.json", {"tables": index, "settings": settings.__dict__})
    return tables

