"""Sample-quality metrics, registered by name, each describing the values it writes.

A metric is `fn(ctx: EvalContext) -> {key: float}`, registered with the data kinds it
applies to and the `Measure`s it returns: for each value its label, which direction is
better, the report table it belongs to, whether its name carries the protocol's sample
count and extractor (`fid2500_clf`), and whether a per-run spread `<key>_std` comes with
it. It may also give the protocol fields it used (`protocol(ev, ctx)`, e.g. KID's subset
count) and one sentence for the report's protocol section (`describe(ev)`). The
evaluate stages, the protocol block of metrics.json, the tables, their captions and the
report text all read these declarations: adding a metric is one module here and its name
in `eval.metrics`.

Value names follow one grammar (`MetricName`): `<stem><N>_<extractor>[_<suffix>]` for
sized values, `<key>` otherwise, then optional qualifiers (a translation direction,
`_ba`), then `_std` for a spread. A metric that needs something the extractor lacks
(class probabilities) returns {}.

Modules: fid (FID, FID-infinity), kid, inception_score (IS / classifier score), prdc
(precision, recall, density, coverage), modes (2-D mixtures, class histograms),
translation (L1, PSNR, SSIM, cycle error, target-class accuracy), knn (memory-bounded
distances), extractors and inception (features).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterable

import numpy as np

from gangrid.registry import Registry, import_submodules

LOWER, HIGHER = "lower", "higher"
SIGNIFICANT_DIGITS = 6


@dataclass(frozen=True)
class Measure:
    """One value a metric writes into metrics.json, and what it means.

    `key`: what the metric function returns it as. `label`: its column label ("FID").
    `direction`: LOWER or HIGHER is better (None: unknown). `table`: the report table
    (`TABLES` key) it is shown in. `sized`: its name carries N and the extractor,
    `<stem><N>_<extractor>[_<suffix>]` (stem defaults to the key); `tagged`: its name carries the
    extractor only, `<key>_<extractor>`. `spread`: the function
    also returns `<key>_std`, a per-run spread written as `<name>_std`. `context`: a
    protocol value shown beside the measurements (the number of modes), never summarised
    as a result or tested.
    """

    key: str
    label: str
    direction: str | None = None
    table: str = "other"
    sized: bool = False
    tagged: bool = False
    stem: str = ""
    suffix: str = ""
    spread: bool = False
    context: bool = False

    def name(self, n: int | None = None, extractor: str | None = None) -> str:
        """The value's name in metrics.json for sample count `n` and extractor `extractor`."""
        if self.tagged:
            return f"{self.key}_{extractor}"
        if not self.sized:
            return self.key
        base = f"{self.stem or self.key}{n_tag(int(n or 0))}_{extractor}"
        return f"{base}_{self.suffix}" if self.suffix else base


@dataclass(frozen=True)
class Metric:
    """A registered metric: its function, the data kinds it applies to and what it measures."""

    name: str
    fn: Callable[["EvalContext"], dict[str, float]]
    kinds: tuple[str, ...]
    measures: tuple[Measure, ...]
    protocol: Callable[[dict[str, Any], "EvalContext"], dict[str, Any]] | None = None
    describe: Callable[[dict[str, Any]], str] | None = None


METRICS: Registry[Metric] = Registry("metric")
# Every declared measure (metrics here, and the values families or kinds add to metrics.json).
MEASURES: dict[str, Measure] = {}
# The report's tables: key -> (title, order). A metric module may add one.
TABLES: dict[str, tuple[str, int]] = {
    "quality": ("Sample quality (FID, KID, IS)", 10),
    "prdc": ("Precision, recall, density and coverage", 20),
    "modes": ("Mode coverage on 2-D mixtures", 30),
    "classes": ("Class coverage of generated images", 40),
    "translation": ("Image-to-image translation", 50),
    "accuracy": ("Accuracy", 60),
    "cost": ("Training cost", 90),
    "other": ("Other metrics", 99),
}


def register_table(key: str, title: str, order: int = 80) -> None:
    """Declare a report table that measures can name (`Measure.table`)."""
    TABLES.setdefault(key, (title, order))


def declare_measures(*measures: Measure) -> tuple[Measure, ...]:
    """Make measures known to the report (metrics do it on registration; families and kinds call it)."""
    for m in measures:
        if MEASURES.get(m.key, m) != m:
            raise ValueError(f"measure '{m.key}' is declared twice, differently")
        MEASURES[m.key] = m
    return measures


def register_metric(name: str, kinds: tuple[str, ...] = ("image", "points"), measures: Iterable[Measure] = (),
                    protocol: Callable[[dict[str, Any], "EvalContext"], dict[str, Any]] | None = None,
                    describe: Callable[[dict[str, Any]], str] | None = None):
    """Decorator registering `fn(ctx) -> {key: float}` as metric `name` with the `measures` it returns,
    its protocol fields and its protocol sentence."""

    def decorator(fn):
        metric = Metric(name, fn, tuple(kinds), declare_measures(*measures), protocol, describe)
        METRICS.register(name)(metric)
        return fn

    return decorator


def get_metric(name: str, key: str = "eval.metrics") -> Metric:
    """The metric registered as `name` (all metric modules are imported first)."""
    import_submodules(__name__)
    return METRICS.get(name, key)


def n_tag(n: int) -> str:
    """Sample count as used in metric names: 500 -> '500', 2000 -> '2k', 10000 -> '10k'."""
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


@dataclass(frozen=True)
class MetricName:
    """A metric value's name read back into its parts: measure, N, extractor, qualifiers, spread."""

    name: str
    measure: Measure | None
    n: str = ""
    extractor: str = ""
    qualifiers: tuple[str, ...] = ()
    spread: bool = False

    @property
    def context(self) -> bool:
        """A protocol value or a per-run spread (shown, never summarised as a result or tested)."""
        return self.spread or (self.measure is not None and self.measure.context)

    @property
    def direction(self) -> str | None:
        """Which side is better (None for context values and unknown names)."""
        return None if self.context or self.measure is None else self.measure.direction

    @property
    def table(self) -> str:
        """The report table of the value."""
        return self.measure.table if self.measure is not None else "other"

    def label(self) -> str:
        """A readable column label, e.g. `FID (2500, clf)`, `FID ba (359, clf)`, `HQ %`."""
        head = self.measure.label if self.measure is not None else self.name
        words = [head, *self.qualifiers] + (["std"] if self.spread else [])
        inside = [p for p in (self.n, self.extractor) if p]
        return " ".join(words) + (f" ({', '.join(inside)})" if inside else "")


def parse_name(name: str, measures: Iterable[Measure] | None = None) -> MetricName:
    """Read a metric value's name by the grammar of the declared measures (the most specific match wins)."""
    base, spread = (name[:-4], True) if name.endswith("_std") else (name, False)
    best: MetricName | None = None
    for m in (MEASURES.values() if measures is None else measures):
        if m.sized:
            suffix = f"_{re.escape(m.suffix)}" if m.suffix else ""
            hit = re.fullmatch(rf"{re.escape(m.stem or m.key)}(\d+k?)_([a-z]+){suffix}((?:_[a-z0-9]+)*)", base)
            parts = (hit.group(1), hit.group(2), hit.group(3)) if hit else None
        elif m.tagged:
            hit = re.fullmatch(rf"{re.escape(m.key)}_([a-z]+)((?:_[a-z0-9]+)*)", base)
            parts = ("", hit.group(1), hit.group(2)) if hit else None
        else:
            hit = re.fullmatch(rf"{re.escape(m.key)}((?:_[a-z0-9]+)*)", base)
            parts = ("", "", hit.group(1)) if hit else None
        if parts is None:
            continue
        qualifiers = tuple(q for q in parts[2].split("_") if q)
        if spread and not m.spread:
            continue
        candidate = MetricName(name, m, parts[0], parts[1], qualifiers, spread)
        if best is None or len(candidate.qualifiers) < len(best.qualifiers):
            best = candidate
    return best or MetricName(name, None, spread=spread)


def all_measures() -> dict[str, Measure]:
    """Every declared measure, once every metric module is imported."""
    import_submodules(__name__)
    return MEASURES


def rounded(values: dict[str, float], digits: int = SIGNIFICANT_DIGITS) -> dict[str, float]:
    """Metric values rounded to `digits` significant digits, for stable, readable metrics.json files."""
    return {k: float(f"{float(v):.{digits}g}") for k, v in values.items()}


@dataclass
class EvalContext:
    """Generated samples, the held-out real reference, and lazily computed features.

    `fake` and `real` are uint8 NCHW images or float (N, D) points. `extractor` maps them
    to (features, class probabilities or None); features are computed once per context
    and shared by every metric. `n` is the sample count the value names carry (the
    protocol's N); `extractor_name` their extractor tag.
    """

    kind: str
    fake: np.ndarray
    real: np.ndarray
    cfg: dict[str, Any]
    extractor: Any = None
    extractor_name: str = "clf"
    meta: dict[str, Any] = field(default_factory=dict)
    n_classes: int = 0
    n: int = 0

    @cached_property
    def fake_out(self) -> tuple[np.ndarray, np.ndarray | None]:
        return self.extractor(self.fake)

    @cached_property
    def real_out(self) -> tuple[np.ndarray, np.ndarray | None]:
        return self.extractor(self.real)

    @property
    def fake_features(self) -> np.ndarray:
        return self.fake_out[0]

    @property
    def real_features(self) -> np.ndarray:
        return self.real_out[0]

    @property
    def fake_probs(self) -> np.ndarray | None:
        return self.fake_out[1]

    @property
    def real_probs(self) -> np.ndarray | None:
        return self.real_out[1]

    @property
    def fake_class_probs(self) -> np.ndarray | None:
        """The fakes' probabilities over the dataset's own classes: the domain classifier's (`clf`) only, never
        Inception's (ImageNet's classes)."""
        return self.fake_probs if self.extractor_name == "clf" else None

    def names(self, metric: Metric, values: dict[str, float]) -> dict[str, float]:
        """A metric function's {key: value} under their metrics.json names (N and extractor of this context)."""
        by_key = {m.key: m for m in metric.measures}
        out = {}
        for key, value in values.items():
            spread = key.endswith("_std") and key[:-4] in by_key and by_key[key[:-4]].spread
            measure = by_key[key[:-4]] if spread else by_key.get(key)
            if measure is None:
                raise KeyError(f"metric '{metric.name}' returned '{key}', which it does not declare")
            name = measure.name(self.n or len(self.fake), self.extractor_name)
            out[f"{name}_std" if spread else name] = value
        return out


def applies(metric: Metric, kind: str) -> bool:
    """True when `metric` is computed for data of `kind`."""
    return kind in metric.kinds


def compute_metrics(ctx: EvalContext, names: list[str]) -> dict[str, float]:
    """Every requested metric that applies to the context's data kind, under its value names, merged."""
    out: dict[str, float] = {}
    for name in names:
        metric = get_metric(name)
        if applies(metric, ctx.kind):
            out.update(ctx.names(metric, metric.fn(ctx)))
    return out


def protocol_fields(ev: dict[str, Any], ctx: EvalContext, names: list[str]) -> dict[str, Any]:
    """The protocol fields of the requested metrics that apply to the context's data kind (KID subsets, k, ...)."""
    out: dict[str, Any] = {}
    for name in names:
        metric = get_metric(name)
        if applies(metric, ctx.kind) and metric.protocol is not None:
            out.update(metric.protocol(ev, ctx))
    return out


def describe_protocol(ev: dict[str, Any], names: list[str]) -> list[str]:
    """One sentence per requested metric that states its protocol (for the report)."""
    return [d for d in (get_metric(n).describe(ev) for n in names if get_metric(n).describe is not None) if d]
