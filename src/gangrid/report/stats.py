"""Statistics over seeds: intervals for a variant's mean, tests of a variant against its baseline,
effect sizes and the Holm correction for multiple comparisons.

Every function drops non-finite values first and returns NaN where a quantity
is undefined (one seed, no variance); the report prints those as "n/a".
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from gangrid.report.settings import TESTS


def finite(values) -> np.ndarray:
    """The finite entries of `values` as float64."""
    x = np.asarray(values, dtype=np.float64).ravel()
    return x[np.isfinite(x)]


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, sample std, half-width of the two-sided t confidence interval of the mean)."""
    x = finite(values)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan, math.nan
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n))
    return mean, std, half


def bootstrap_interval(values, confidence: float = 0.95, n_resamples: int = 10000, seed: int = 0) -> tuple[float, float]:
    """(low, high) percentile-bootstrap confidence interval of the mean (scipy.stats.bootstrap, seeded)."""
    x = finite(values)
    if len(x) < 2:
        return math.nan, math.nan
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    res = stats.bootstrap((x,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                          method="percentile", rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


@dataclass(frozen=True)
class Interval:
    """Summary of one metric of one variant over its finished seeds."""

    n: int
    mean: float
    std: float
    low: float
    high: float

    @property
    def half(self) -> float:
        """Half-width of the interval (symmetric for the t-interval)."""
        return (self.high - self.low) / 2


def summarise_values(values, confidence: float = 0.95, method: str = "t", n_resamples: int = 10000, seed: int = 0) -> Interval:
    """n, mean, std and the `method` ('t' or 'bootstrap') confidence interval of the mean of `values`."""
    x = finite(values)
    mean, std, half = t_interval(x, confidence)
    if method == "bootstrap":
        low, high = bootstrap_interval(x, confidence, n_resamples, seed)
    else:
        low, high = mean - half, mean + half
    return Interval(len(x), mean, std, low, high)


def welch_t(a, b) -> tuple[float, float, float]:
    """(t, Welch-Satterthwaite df, two-sided p) of Welch's unequal-variance t-test of mean(a) vs mean(b)."""
    a, b = finite(a), finite(b)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return math.nan, math.nan, math.nan
    va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
    se2 = va + vb
    if se2 == 0:
        return math.nan, math.nan, math.nan
    t = float((a.mean() - b.mean()) / math.sqrt(se2))
    df = float(se2**2 / (va**2 / (na - 1) + vb**2 / (nb - 1)))
    return t, df, float(2 * stats.t.sf(abs(t), df))


def hedges_g(a, b) -> float:
    """Hedges' g: (mean(a) - mean(b)) / pooled std, times the small-sample correction 1 - 3 / (4 (na + nb) - 9)."""
    a, b = finite(a), finite(b)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return math.nan
    pooled = ((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2)
    if pooled == 0:
        return math.nan
    d = (a.mean() - b.mean()) / math.sqrt(pooled)
    return float(d * (1 - 3 / (4 * (na + nb) - 9)))


def mann_whitney(a, b) -> tuple[float, float]:
    """(U of a, two-sided p) of the Mann-Whitney U test (scipy's exact or asymptotic method, chosen by scipy)."""
    a, b = finite(a), finite(b)
    if len(a) < 1 or len(b) < 1 or (np.all(a == a[0]) and np.all(b == a[0])):
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.mannwhitneyu(a, b, alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


def rank_biserial(a, b) -> float:
    """Rank-biserial correlation 2 U_a / (na nb) - 1, in [-1, 1]: +1 when every a exceeds every b."""
    a, b = finite(a), finite(b)
    if len(a) < 1 or len(b) < 1:
        return math.nan
    u = (np.sign(a[:, None] - b[None, :]) + 1).sum() / 2  # pairs a > b, ties count one half
    return float(2 * u / (len(a) * len(b)) - 1)


@dataclass(frozen=True)
class Comparison:
    """A variant against its baseline on one metric: test statistic, p-value and effect size."""

    test: str
    statistic: float
    p: float
    effect: float
    effect_name: str


def compare(a, b, test: str = "welch") -> Comparison:
    """Test whether `a` (a variant's seeds) and `b` (the baseline's) differ: Welch t + Hedges' g, or Mann-Whitney U + rank-biserial r."""
    if test == "welch":
        t, _, p = welch_t(a, b)
        return Comparison("welch", t, p, hedges_g(a, b), "g")
    if test == "mannwhitney":
        u, p = mann_whitney(a, b)
        return Comparison("mannwhitney", u, p, rank_biserial(a, b), "r")
    raise ValueError(f"unknown test {test!r} (known: {', '.join(TESTS)})")


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1); NaN entries stay NaN and are not counted."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = len(idx)
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out
