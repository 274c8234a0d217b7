"""What a metric name means for reporting: its table, which direction is better, its label.

Every value in a metrics.json was declared by whatever wrote it: a metric
(`gangrid.metrics.register_metric(..., measures=...)`), an architecture family's own
metrics (`register_family(..., run_measures=...)`), or the training cost below. Names
are read back with the one grammar of `gangrid.metrics.parse_name`
(`<stem><N>_<extractor>[_<suffix>][_<qualifier>...][_std]`), so a new metric appears in
its table with its arrow and its best value in bold, with no edit here. A name nobody
declared lands in the `other` table with no direction (never bolded) unless
`report.directions` in params.yaml names one for it or its stem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

from gangrid.metrics import HIGHER, LOWER, TABLES, Measure, MetricName, all_measures, declare_measures, parse_name
from gangrid.registry import import_submodules

__all__ = ["LOWER", "HIGHER", "Family", "families", "describe", "direction", "family", "label", "arrow", "stem",
           "is_context"]

# The training cost every run has (status.json), summarised like a metric and never tested.
COST = declare_measures(Measure("train_seconds", "Train time (s)", None, "cost"))


@dataclass(frozen=True)
class Family:
    """A report table: key (file-name part) and title."""

    key: str
    title: str


def families() -> tuple[Family, ...]:
    """Every table, in report order."""
    return tuple(Family(key, title) for key, (title, _) in sorted(TABLES.items(), key=lambda kv: kv[1][1]))


def describe(name: str) -> MetricName:
    """The parts of a metric value's name (its declared measure, N, extractor, qualifiers, spread)."""
    import_submodules("gangrid.nets")  # families declare the metrics of their trained nets
    measures = all_measures()
    return _describe(name, tuple(measures.values()))


@lru_cache(maxsize=4096)
def _describe(name: str, measures: tuple[Measure, ...]) -> MetricName:
    return parse_name(name, measures)


def stem(name: str) -> str:
    """The metric's leading word: `fid2500_clf` -> `fid`, `hq_pct` -> `hq_pct`; for a name nobody declared, its
    first word without a sample count (`my10k_score` -> `my`), so that `report.directions` can name it."""
    m = describe(name).measure
    if m is not None:
        return m.stem or m.key
    return re.sub(r"\d+k?$", "", name.split("_")[0]) or name


def is_context(name: str) -> bool:
    """True for protocol values stored beside metrics (`modes_total`, per-run `_std`): never summarised or tested."""
    return describe(name).context


def direction(name: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """'lower' or 'higher' (which is better) for a metric name; None when unknown.

    `overrides` (params `report.directions`) maps full names or stems to a direction and
    wins over the declarations.
    """
    overrides = overrides or {}
    if name in overrides:
        return overrides[name]
    if stem(name) in overrides:
        return overrides[stem(name)]
    return describe(name).direction


def family(name: str) -> Family:
    """The table that reports metric `name`."""
    key = describe(name).table
    return Family(key, TABLES.get(key, TABLES["other"])[0])


def label(name: str, latex: bool = False) -> str:
    """A readable column label: `fid2500_clf` -> `FID (2500, clf)`; in LaTeX `FID\\textsubscript{2500,clf}`."""
    parts = describe(name)
    if not latex:
        return parts.label()
    from gangrid.report.latex import escape

    head = parts.measure.label if parts.measure is not None else name
    words = [head, *parts.qualifiers] + (["std"] if parts.spread else [])
    text = escape(" ".join(words))
    inside = [p for p in (parts.n, parts.extractor) if p]
    return f"{text}\\textsubscript{{{','.join(inside)}}}" if inside else text


def arrow(name: str, overrides: Mapping[str, str] | None = None, latex: bool = False) -> str:
    """'↓' / '↑' (LaTeX: $\\downarrow$ / $\\uparrow$) for the better direction, '' when unknown."""
    d = direction(name, overrides)
    if d is None:
        return ""
    if latex:
        return "$\\downarrow$" if d == LOWER else "$\\uparrow$"
    return "↓" if d == LOWER else "↑"
