"""The `report` stage: reports/report.md with the protocol, every table and figure, diverged runs."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd

from gangrid.config import PARAMS_FILE
from gangrid.io import write_text
from gangrid.report import FIGURES_DIR, REPORT_FILE, TABLES_DIR


def code_version() -> str:
    """`git describe` of the working tree, or 'unknown' outside git."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def params_hash(path: str | Path = PARAMS_FILE) -> str:
    """sha256 (first 12 hex digits) of params.yaml."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def protocol_section(params: dict[str, Any]) -> str:
    """The metric protocol in words: N, extractor, reference split, seeds, code and params versions."""
    ev = params["eval"]
    lines = [
        "## Protocol",
        "",
        f"- Generated samples per run: N = {ev['n_samples']} (fixed noise seed {ev.get('sample_seed', 0)}).",
        f"- Feature extractor: {ev['extractor']} (the pipeline's domain classifier, penultimate layer; "
        "for 2-D mixtures the points themselves).",
        "- Reference set: the held-out test split of each dataset (never the training split).",
        f"- KID: unbiased MMD², cubic polynomial kernel, {ev.get('kid_subsets', 100)} subsets of "
        f"size min(N, {ev.get('kid_subset_size', 1000)}).",
        f"- 2-D mixtures: a sample is high quality within {ev.get('hq_std', 3.0)} std of its nearest mode; "
        "a mode is captured when it receives at least one high-quality sample.",
        "- Intervals: mean ± half-width of the 95% t-interval over finished seeds; diverged runs are excluded from means and counted.",
        f"- Code version: `{code_version()}`; params.yaml sha256: `{params_hash()}`.",
        "",
    ]
    return "\n".join(lines)


def run_report(params: dict[str, Any], out: Path = REPORT_FILE) -> Path:
    """Write reports/report.md from the tables and figures."""
    runs = pd.read_csv(TABLES_DIR / "runs.csv")
    parts = ["# gangrid report", "", protocol_section(params)]
    for study, spec in params["studies"].items():
        parts += [f"## Study `{study}`", ""]
        if spec.get("description"):
            parts += [spec["description"], ""]
        parts += [
            f"Axes: datasets {spec['datasets']}, archs {spec['archs']}, losses {spec['losses']}, "
            f"tricks {spec['tricks']}, seeds {spec['seeds']}.",
            "",
            (TABLES_DIR / f"{study}.md").read_text(),
            "",
            f"![Samples of study {study}](figures/samples_{study}.png)",
            "",
            f"*Figure: fixed-noise samples, first seed of each variant of `{study}`.*",
            "",
        ]
    diverged = runs[runs["status"] != "finished"]
    parts += ["## Diverged runs", ""]
    if len(diverged):
        parts += [f"- `{r.study}/{r.run}`: {r.status} at step {r.step}" for r in diverged.itertuples()]
    else:
        parts += ["None."]
    parts.append("")
    write_text(out, "\n".join(parts))
    return out
