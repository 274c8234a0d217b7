"""Sample-quality metrics, registered by name.

A metric is `fn(ctx: EvalContext) -> dict[str, float]`, registered with the data
kinds it applies to. `eval.metrics` in params.yaml lists the ones to compute;
names of the values carry the protocol (e.g. `fid2k_clf`: FID, 2000 samples,
classifier features; `fid2k_incep`: Inception features). A metric that needs
something the extractor lacks (class probabilities) returns {}.

Modules: fid (FID, FID-infinity), kid, inception_score (IS / classifier score),
prdc (precision, recall, density, coverage), modes (2-D mixtures, class
histograms), knn (memory-bounded distances), extractors and inception (features).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import numpy as np

from gangrid.registry import Registry, import_submodules


@dataclass(frozen=True)
class Metric:
    """A registered metric: the function and the data kinds ("image", "points") it applies to."""

    fn: Callable[["EvalContext"], dict[str, float]]
    kinds: tuple[str, ...]


METRICS: Registry[Metric] = Registry("metric")


def register_metric(name: str, kinds: tuple[str, ...] = ("image", "points")):
    """Decorator registering `fn(ctx) -> {value name: float}` as metric `name`."""

    def decorator(fn):
        METRICS.register(name)(Metric(fn, kinds))
        return fn

    return decorator


def get_metric(name: str, key: str = "eval.metrics") -> Metric:
    """The metric registered as `name` (all metric modules are imported first)."""
    import_submodules(__name__)
    return METRICS.get(name, key)


def n_tag(n: int) -> str:
    """Sample count as used in metric names: 500 -> '500', 2000 -> '2k', 10000 -> '10k'."""
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


@dataclass
class EvalContext:
    """Generated samples, the held-out real reference, and lazily computed features.

    `fake` and `real` are uint8 NCHW images or float (N, D) points. `extractor`
    maps them to (features, class probabilities or None); features are computed
    once per context and shared by every metric.
    """

    kind: str
    fake: np.ndarray
    real: np.ndarray
    cfg: dict[str, Any]
    extractor: Any = None
    extractor_name: str = "clf"
    meta: dict[str, Any] = field(default_factory=dict)
    n_classes: int = 0

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

    def tag(self) -> str:
        """`<N>_<extractor>` suffix of metric names; N is the protocol's sample count (eval.n_samples).

        The counts actually used are recorded in the protocol of metrics.json.
        """
        return f"{n_tag(int(self.cfg.get('n_samples', len(self.fake))))}_{self.extractor_name}"


def compute_metrics(ctx: EvalContext, names: list[str]) -> dict[str, float]:
    """Every requested metric that applies to the context's data kind, merged into one dict."""
    out: dict[str, float] = {}
    for name in names:
        metric = get_metric(name)
        if ctx.kind in metric.kinds:
            out.update(metric.fn(ctx))
    return out
