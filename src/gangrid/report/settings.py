"""The optional `report:` section of params.yaml: statistics and output options, validated with clear errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gangrid.errors import ConfigError

INTERVALS = ("t", "bootstrap")
TESTS = ("welch", "mannwhitney")  # gangrid.report.stats implements them (this module imports no scipy: every stage reads it)
PDF_MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class ReportSettings:
    """Statistics and output options of the aggregate, plots and report stages.

    confidence: level of the intervals over seeds; interval: 't' (Student t) or
    'bootstrap' (percentile, `bootstrap` resamples, `bootstrap_seed`); test:
    'welch' (Welch t-test, Hedges' g) or 'mannwhitney' (Mann-Whitney U,
    rank-biserial r) of each variant against its study's baseline, Holm-corrected
    over the comparisons of one study and metric, significant when the adjusted
    p < alpha; directions: better direction of metrics the built-in table does
    not know ({name or stem: lower|higher}); heatmap_metric: metric (name or stem,
    first match) colouring the ablation heatmaps; pdf: compile reports/paper/main.pdf
    with pdflatex ('auto': when pdflatex is on PATH); progress_metrics: the in-training metrics (stems)
    drawn beside each run's tracked metric in the metric-vs-step figures, when logged.
    """

    confidence: float = 0.95
    interval: str = "t"
    bootstrap: int = 10000
    bootstrap_seed: int = 0
    test: str = "welch"
    alpha: float = 0.05
    directions: dict[str, str] = field(default_factory=dict)
    heatmap_metric: str = "fid"
    pdf: str = "auto"
    progress_metrics: tuple[str, ...] = ("hq_pct", "modes", "mode_kl", "fid", "kid", "coverage", "l1")


def _choice(value: Any, choices: tuple[str, ...], key: str) -> str:
    if value not in choices:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(choices)}")
    return value


def _fraction(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(f"{key}: expected a number strictly between 0 and 1, got {value!r}")
    return float(value)


def _count(value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key}: expected an integer >= {minimum}, got {value!r}")
    return value


def report_settings(params: dict[str, Any]) -> ReportSettings:
    """The validated `report:` section (defaults for every missing key); ConfigError names a bad key."""
    section = params.get("report") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"report: expected a mapping, got {type(section).__name__}")
    known = set(ReportSettings.__dataclass_fields__)
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"report: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    base = ReportSettings()
    directions = section.get("directions", {}) or {}
    if not isinstance(directions, dict):
        raise ConfigError("report.directions: expected a mapping {metric: lower|higher}")
    for name, value in directions.items():
        _choice(value, ("lower", "higher"), f"report.directions.{name}")
    heatmap = section.get("heatmap_metric", base.heatmap_metric)
    if not isinstance(heatmap, str) or not heatmap:
        raise ConfigError(f"report.heatmap_metric: expected a metric name, got {heatmap!r}")
    progress = section.get("progress_metrics", list(base.progress_metrics))
    if not isinstance(progress, list) or not all(isinstance(m, str) and m for m in progress):
        raise ConfigError(f"report.progress_metrics: expected a list of metric names, got {progress!r}")
    return ReportSettings(
        confidence=_fraction(section.get("confidence", base.confidence), "report.confidence"),
        interval=_choice(section.get("interval", base.interval), INTERVALS, "report.interval"),
        bootstrap=_count(section.get("bootstrap", base.bootstrap), "report.bootstrap", 100),
        bootstrap_seed=_count(section.get("bootstrap_seed", base.bootstrap_seed), "report.bootstrap_seed", 0),
        test=_choice(section.get("test", base.test), TESTS, "report.test"),
        alpha=_fraction(section.get("alpha", base.alpha), "report.alpha"),
        directions=dict(directions),
        heatmap_metric=heatmap,
        pdf=_choice(section.get("pdf", base.pdf), PDF_MODES, "report.pdf"),
        progress_metrics=tuple(progress),
    )
