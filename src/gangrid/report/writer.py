"""The `report` stage: reports/report.md, reports/report.html (self-contained), reports/index.html (the
browsable report, gangrid.report.browse) and reports/paper/main.tex (+ main.pdf when pdflatex is
available), all from the same blocks: the protocol, per study its findings (significance against the
baseline), every table and figure with captions, and the runs that did not finish.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd

from gangrid.config import PARAMS_FILE, baseline_study, iter_runs, study_baseline
from gangrid.io import read_json, write_text
from gangrid.metrics import describe_protocol
from gangrid.report import FIGURES_DIR, HTML_FILE, PAPER_DIR, REPORT_FILE, TABLES_DIR
from gangrid.report.document import Block, Bullets, FigureBlock, Heading, Paragraph, TableBlock, to_html, to_markdown
from gangrid.report.narrative import study_findings, unfinished_runs
from gangrid.report.settings import ReportSettings, report_settings
from gangrid.report.tables import TEST_NAMES


def code_version() -> str:
    """`git describe --always --dirty` of the working tree, or 'unknown' outside git."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def params_hash(path: str | Path = PARAMS_FILE) -> str:
    """sha256 (first 12 hex digits) of the params file, or 'unknown' when it is absent."""
    path = Path(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else "unknown"


def _optional_json(path: Path) -> dict[str, Any]:
    return read_json(path) if path.exists() else {}


def dataset_lines(params: dict[str, Any]) -> list[str]:
    """One protocol line per dataset used: source, split sizes, reference set size, classifier accuracy."""
    from gangrid.artifacts import classifier_metrics_path, real_metrics_path
    from gangrid.config import datasets_used
    from gangrid.data.store import processed_dir

    lines = []
    for name in datasets_used(params):
        cfg = params["datasets"][name]
        manifest = _optional_json(processed_dir(name) / "manifest.json")
        parts = [f"`{name}`: source `{cfg.get('source', '?')}`"]
        if manifest.get("splits"):
            parts.append("splits " + ", ".join(f"{k} {v}" for k, v in sorted(manifest["splits"].items())))
        proto = _optional_json(real_metrics_path(name)).get("protocol", {})
        sizes = {k.removeprefix("n_real").strip("_") or "": int(v) for k, v in proto.items() if k.startswith("n_real")}
        if sizes:  # one reference set, or one per translation direction (n_real_ab, n_real_ba)
            parts.append("reference set " + ", ".join(f"{n} ({d})" if d else str(n) for d, n in sorted(sizes.items()))
                         + " held-out test samples")
        clf = _optional_json(classifier_metrics_path(name))
        if "test_accuracy" in clf:
            parts.append(f"domain-classifier test accuracy {clf['test_accuracy']:.3f}")
        lines.append("; ".join(parts) + ".")
    return lines


def tracked_metrics_text(metrics: Any) -> str:
    """`eval.track.metrics` in words: `fid`, `kid` (where they apply), or per data kind."""
    if isinstance(metrics, dict):
        return "; ".join(f"{kind}: " + ", ".join(f"`{m}`" for m in names) for kind, names in metrics.items())
    return ", ".join(f"`{m}`" for m in metrics) + ", where they apply"


def tracking_lines(params: dict[str, Any]) -> list[str]:
    """The in-training metrics and the convergence rule, as the protocol states them."""
    from gangrid.training.convergence import Rule

    ev = params["eval"]
    every = int(ev.get("every", 0))
    if every <= 0:
        return ["In-training metrics: off (`eval.every: 0`), so no run's convergence is known and the findings "
                "draw no conclusion."]
    track = ev.get("track") or {}
    primary = ", ".join(f"{k}: `{v}`" for k, v in (track.get("primary") or {}).items())
    return [f"In-training metrics: every {every} steps and at the last step, the run's generator is scored on a "
            f"fixed-noise sample of n = min({track.get('n', 1000)}, test size) against as many fixed test samples "
            f"(metrics {tracked_metrics_text(track.get('metrics', []))}), logged under "
            "`eval/` in the run's DVCLive log and drawn as metric-vs-step curves.",
            f"Convergence: per run, on its tracked metric ({primary}): "
            f"{Rule.from_config(track.get('convergence')).describe()}. Runs that did not converge stay in the tables "
            "(marked `unconv.`) but no finding rests on their variant."]


def protocol_blocks(params: dict[str, Any], settings: ReportSettings) -> list[Block]:
    """The protocol: data, sampling, extractor, metric settings, statistics, code and params versions."""
    ev = params["eval"]
    ci = (f"{settings.confidence:.0%} Student-t interval" if settings.interval == "t" else
          f"{settings.confidence:.0%} percentile bootstrap ({settings.bootstrap} resamples, seed {settings.bootstrap_seed})")
    effect = "Hedges' g" if settings.test == "welch" else "rank-biserial r"
    items = [
        f"Generated samples per run: N = {ev['n_samples']}, from fixed noise (seed {ev.get('sample_seed', 0)}). Each "
        f"metric compares n = min(N, size of the held-out reference) of them with as many reference samples, and its "
        "name carries that n and the extractor (`fid1k_clf` = FID of 1000 generated vs 1000 test samples on classifier "
        "features; `fid359_clf` on a test split of 359 images).",
        f"Feature extractor: {ev['extractor']} (the pipeline's domain classifier: penultimate features for FID, KID, "
        "precision, recall, density and coverage, softmax for IS and class histograms; for 2-D mixtures the points themselves).",
        "Reference set: the held-out test split of each dataset, never the training split; the 'real data' row scores "
        "n training samples against it (the floor a generator can reach).",
        *tracking_lines(params),
        f"Metrics: {', '.join(f'`{m}`' for m in ev.get('metrics', []))}.",
        *describe_protocol(ev, list(ev.get("metrics", []))),
        f"Statistics over seeds: mean and {ci} of the mean over finished seeds; diverged runs are counted and excluded "
        f"from means. Each variant is compared with its study's baseline by a {TEST_NAMES[settings.test]} ({effect} as "
        f"effect size), Holm-corrected over the comparisons of one study and metric; significant when the adjusted "
        f"p < {settings.alpha:g}.",
        f"Code version: `{code_version()}`; params file sha256: `{params_hash()}`.",
    ]
    datasets = dataset_lines(params)
    return [Heading("Protocol"), Bullets(tuple(items))] + ([Paragraph("Datasets:"), Bullets(tuple(datasets))] if datasets else [])


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return pd.DataFrame()


def study_blocks(params: dict[str, Any], study: str, settings: ReportSettings, tables: list[dict[str, Any]],
                 figures: list[dict[str, Any]], significance: pd.DataFrame) -> list[Block]:
    """One study: description, axes, findings, its tables and its figures."""
    spec = params["studies"][study]
    blocks: list[Block] = [Heading(f"Study `{study}`")]
    if spec.get("description"):
        blocks.append(Paragraph(spec["description"]))
    base = study_baseline(params, study)
    blocks.append(Paragraph(
        f"Axes: datasets {', '.join(f'`{d}`' for d in spec['datasets'])}; archs {', '.join(f'`{a}`' for a in spec['archs'])}; "
        f"losses {', '.join(f'`{x}`' for x in spec['losses'])}; tricks {', '.join(f'`{t}`' for t in spec['tricks'])}; "
        f"seeds {', '.join(str(s) for s in spec['seeds'])}. Baseline: "
        + ", ".join(f"{k} `{v}`" for k, v in base.items())
        + (f" (its runs are shared with study `{home}`, not trained again)." if (home := baseline_study(params, study)) != study
           else ".")))
    blocks += [Heading("Findings", 3), Paragraph(" ".join(study_findings(study, base, significance, settings)))]
    mine = [t for t in tables if t["study"] == study]
    if mine:
        blocks.append(Heading("Tables", 3))
        for t in mine:
            md = (TABLES_DIR / f"{t['stem']}.md").read_text()
            blocks.append(TableBlock(t["stem"], t["title"], t["caption"], md))
    figs = [f for f in figures if f["study"] == study]
    if figs:
        blocks.append(Heading("Figures", 3))
        blocks += [FigureBlock(f["stem"], f["caption"]) for f in figs]
    return blocks


def all_study_blocks(params: dict[str, Any]) -> dict[str, list[Block]]:
    """Each study's blocks (description, axes, findings, tables, figures), from reports/tables/ and reports/figures/."""
    settings = report_settings(params)
    tables = _optional_json(TABLES_DIR / "index.json").get("tables", [])
    figures = _optional_json(FIGURES_DIR / "index.json").get("figures", [])
    significance = _read_csv(TABLES_DIR / "significance.csv")
    return {study: study_blocks(params, study, settings, tables, figures, significance) for study in params["studies"]}


def report_blocks(params: dict[str, Any], studies: dict[str, list[Block]] | None = None) -> list[Block]:
    """The whole report as blocks, from reports/tables/ and reports/figures/ (`studies`: `all_study_blocks`, if at hand)."""
    settings = report_settings(params)
    runs = _read_csv(TABLES_DIR / "runs.csv")
    n_runs = len(list(iter_runs(params)))
    shared = (f" ({len(runs)} table rows: a study that borrows its baseline from another study lists those runs too)"
              if len(runs) and len(runs) != n_runs else "")
    blocks: list[Block] = [Heading("gangrid report", 1),
                           Paragraph(f"{n_runs} runs in {len(params['studies'])} studies{shared}. Numbers: "
                                     "`reports/tables/*.csv`; LaTeX: `reports/tables/*.tex` and `reports/paper/main.tex`; "
                                     "to sort, filter and open single runs: `reports/index.html`.")]
    blocks += protocol_blocks(params, settings)
    for study in (studies or all_study_blocks(params)).values():
        blocks += study
    blocks.append(Heading("Runs that did not finish"))
    lines = unfinished_runs(runs) if len(runs) else []
    blocks.append(Bullets(tuple(lines)) if lines else Paragraph("None: every run finished."))
    blocks += timing_blocks()
    return blocks


def timing_blocks() -> list[Block]:
    """Appendix: wall time per pipeline stage, from the stage timers (logs/timings/) and Snakemake benchmarks."""
    from gangrid.timings import TIMINGS_DIR, read_records, summary

    rows = summary(read_records())
    if not rows:
        return []
    total = sum(r["total"] for r in rows)
    items = tuple(
        f"`{r['stage']}`: {r['n']} invocations, {r['total']:.0f} s in all (mean {r['mean']:.1f} s, max {r['max']:.1f} s: "
        f"`{r['slowest']}`)" for r in rows)
    return [Heading("Appendix: time per stage"),
            Paragraph(f"Wall time of each `gangrid` stage command from its start to its exit (imports included, except "
                      f"those a warm worker had done: `gangrid warm`), orchestrator overhead excluded; the latest invocation of each stage and target (`{TIMINGS_DIR.as_posix()}/`), "
                      f"this report's own stage not yet included. Sum: {total:.0f} s ({total / 60:.1f} min)."),
            Bullets(items)]


def run_report(params: dict[str, Any], out: Path = REPORT_FILE) -> Path:
    """Write report.md, report.html, index.html (+ browse/) and paper/main.tex (compiled to main.pdf per
    `report.pdf`); return report.md."""
    import shutil

    from gangrid.report.browse import write_index
    from gangrid.report.paper import compile_pdf, write_paper

    settings = report_settings(params)
    studies = all_study_blocks(params)
    blocks = report_blocks(params, studies)
    write_text(out, to_markdown(blocks, figures_rel=FIGURES_DIR.relative_to(out.parent).as_posix()
                                if FIGURES_DIR.is_relative_to(out.parent) else FIGURES_DIR.as_posix()))
    write_text(HTML_FILE, to_html(blocks, FIGURES_DIR))
    tex = write_paper(blocks, PAPER_DIR)
    if settings.pdf == "always" or (settings.pdf == "auto" and shutil.which("pdflatex")):
        pdf, pages = compile_pdf(tex)
        print(f"{pdf}: {pages} pages")
    write_index(params, studies)  # after the PDF: it links to what exists
    return out
