"""The convergence verdict of a run: is its tracked metric still moving at the end of training?

The rule (stated in every status.json and in the report): take the evaluations of the
run's tracked metric (FID, HQ %, ...) in the last `window` of its training steps (default:
the last quarter) and fit a least-squares line through them. The fitted change across
that window, `change = slope * (last step - first step)`, is the amount training still
moved the metric at the end. The run is **unconverged** when that change is both

  * practically relevant: |change| > rel_tol * |level| (level = the mean of the window's
    values; default rel_tol 0.05, i.e. more than 5 % of where the metric stands), and
  * statistically clear: |change| > 2 * its standard error (the trend is not explained by
    the evaluation-to-evaluation noise of the curve),

and **converged** otherwise. A run with fewer than `min_points` evaluations in the window
gets **undetermined** (too few evaluations to tell); a run that diverged gets **diverged**.
The rule looks at one run's own curve, so it is known when the run ends; the report adds
how many seeds of each variant converged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

CONVERGED, UNCONVERGED, UNDETERMINED, DIVERGED = "converged", "unconverged", "undetermined", "diverged"
VERDICTS = (CONVERGED, UNCONVERGED, UNDETERMINED, DIVERGED)


@dataclass(frozen=True)
class Rule:
    """The convergence rule's settings: the final `window` of training (a fraction of the steps), the
    relative tolerance of the change across it, and the fewest evaluations it needs there."""

    window: float = 0.25
    rel_tol: float = 0.05
    min_points: int = 4

    @classmethod
    def from_config(cls, cfg: dict[str, Any] | None) -> "Rule":
        """The rule of `eval.track.convergence` (missing keys take the defaults)."""
        cfg = cfg or {}
        return cls(float(cfg.get("window", cls.window)), float(cfg.get("rel_tol", cls.rel_tol)),
                   int(cfg.get("min_points", cls.min_points)))

    def describe(self, metric: str = "the tracked metric") -> str:
        """The rule in one sentence, as the report and status.json state it."""
        return (f"converged unless the least-squares trend of {metric} over the last {self.window:.0%} of training "
                f"changes it by more than {self.rel_tol:.0%} of its level and by more than twice the trend's "
                f"standard error (needs at least {self.min_points} evaluations in that window)")


def trend(steps: Sequence[float], values: Sequence[float]) -> tuple[float, float, float]:
    """(change, standard error of the change, level) of a least-squares line through (steps, values):
    change = slope * (last step - first step); level = mean of the values."""
    t = np.asarray(steps, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    span = float(t[-1] - t[0])
    tc = t - t.mean()
    sxx = float((tc**2).sum())
    slope = float((tc * (y - y.mean())).sum() / sxx) if sxx > 0 else 0.0
    resid = y - (y.mean() + slope * tc)
    dof = len(y) - 2
    se_slope = math.sqrt(float((resid**2).sum()) / dof / sxx) if dof > 0 and sxx > 0 else math.inf
    return slope * span, se_slope * span, float(y.mean())


def verdict(steps: Sequence[float], values: Sequence[float], total_steps: int, rule: Rule = Rule(),
            metric: str = "the tracked metric") -> dict[str, Any]:
    """The convergence verdict of one run's tracked metric `values` at `steps` (training ran `total_steps`).

    Returns {verdict, metric, window_start, points, change, se, level, tolerance, rule}; non-finite
    values in the window make the verdict `diverged`.
    """
    start = (1.0 - rule.window) * total_steps
    pts = [(float(s), float(v)) for s, v in zip(steps, values) if s >= start]
    out: dict[str, Any] = {"metric": metric, "window_start": int(math.ceil(start)), "points": len(pts),
                           "rule": rule.describe(metric)}
    if any(not math.isfinite(v) for _, v in pts):
        return {"verdict": DIVERGED, **out}
    if len(pts) < max(rule.min_points, 3):
        return {"verdict": UNDETERMINED, **out}
    change, se, level = trend([s for s, _ in pts], [v for _, v in pts])
    tolerance = rule.rel_tol * abs(level)
    moving = abs(change) > tolerance and abs(change) > 2.0 * se
    return {"verdict": UNCONVERGED if moving else CONVERGED, **out, "change": _r(change), "se": _r(se),
            "level": _r(level), "tolerance": _r(tolerance)}


def _r(x: float) -> float | None:
    """A float rounded to 6 significant digits for JSON (None for inf/NaN)."""
    return float(f"{x:.6g}") if math.isfinite(x) else None
