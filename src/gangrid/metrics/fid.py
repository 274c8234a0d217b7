"""Fréchet distance between Gaussians fitted to features (Heusel et al. 2017), in float64.

FID = ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)). The trace term is
the sum of square roots of the eigenvalues of S1 S2 (real and >= 0 for
covariances). They are taken from a symmetric matrix with the same (nonzero)
eigenvalues: L^T S2 L with S1 = L L^T (Cholesky; eigen-decomposition of S1 when
it is singular), or, with fewer samples n than dimensions d, the n x n matrix
C S2 C^T / (n - 1) of the smaller set's centred features C. A symmetric
eigenvalue problem instead of `sqrtm` of a non-symmetric product, and never an
SVD of the product, which is not its square root.

FID-infinity (Chong & Forsyth 2020) extrapolates FID measured on growing
subsets of the generated features linearly in 1/N to N = infinity.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from gangrid.metrics import LOWER, EvalContext, Measure, register_metric
from gangrid.metrics.knn import DEFAULT_BUDGET_MB


def gaussian_stats(features: np.ndarray, budget_mb: float = DEFAULT_BUDGET_MB) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (as `np.cov`) of (N, d) features, accumulated in float64 row blocks."""
    n, d = features.shape
    if n < 2:
        raise ValueError(f"need at least 2 feature vectors for a covariance, got {n}")
    batch = int(max(64, budget_mb * 2**20 // (8 * d * 2)))
    mu = np.zeros(d)
    for i in range(0, n, batch):
        mu += np.asarray(features[i : i + batch], dtype=np.float64).sum(0)
    mu /= n
    cov = np.zeros((d, d))
    for i in range(0, n, batch):
        c = np.asarray(features[i : i + batch], dtype=np.float64) - mu
        cov += c.T @ c
    cov /= n - 1
    return mu, cov


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((S1 S2)^(1/2)) for symmetric positive semi-definite S1, S2: sum of sqrt(eig(S1 S2))."""
    try:
        factor = scipy.linalg.cholesky(sigma1, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        w, v = scipy.linalg.eigh(sigma1, check_finite=False)
        factor = v * np.sqrt(np.clip(w, 0.0, None))
    m = factor.T @ sigma2 @ factor
    m = (m + m.T) * 0.5
    eig = scipy.linalg.eigvalsh(m, check_finite=False)
    return float(np.sqrt(np.clip(eig, 0.0, None)).sum())


def trace_sqrt_product_lowrank(centered: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((S1 S2)^(1/2)) where S1 = C^T C / (n - 1) for the (n, d) centred features C (n <= d: S1 is singular).

    S1 S2 = C^T (C S2) / (n - 1) has the nonzero eigenvalues of the n x n matrix C S2 C^T / (n - 1).
    """
    c = np.asarray(centered, dtype=np.float64)
    m = c @ sigma2 @ c.T / (len(c) - 1)
    m = (m + m.T) * 0.5
    eig = scipy.linalg.eigvalsh(m, check_finite=False)
    return float(np.sqrt(np.clip(eig, 0.0, None)).sum())


def _distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray, tr_sqrt: float) -> float:
    diff = mu1 - mu2
    return max(float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt), 0.0)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)), in float64, clamped at 0."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError(f"feature dimensions differ: {mu1.shape} vs {mu2.shape}")
    return _distance(mu1, s1, mu2, s2, trace_sqrt_product(s1, s2))


def fid_from_stats_and_features(
    x: np.ndarray, stats_x: tuple[np.ndarray, np.ndarray], y: np.ndarray, stats_y: tuple[np.ndarray, np.ndarray]
) -> float:
    """FID from both sets' statistics; with fewer samples than dimensions, via the smaller set's n x n problem."""
    (mu_x, s_x), (mu_y, s_y) = stats_x, stats_y
    d = s_x.shape[0]
    if min(len(x), len(y)) - 1 < d:
        small, mu_small, s_other = (x, mu_x, s_y) if len(x) <= len(y) else (y, mu_y, s_x)
        tr = trace_sqrt_product_lowrank(np.asarray(small, dtype=np.float64) - mu_small, s_other)
        return _distance(mu_x, s_x, mu_y, s_y, tr)
    return frechet_distance(mu_x, s_x, mu_y, s_y)


def fid_from_features(fake: np.ndarray, real: np.ndarray, budget_mb: float = DEFAULT_BUDGET_MB) -> float:
    """FID between two feature sets."""
    return fid_from_stats_and_features(fake, gaussian_stats(fake, budget_mb), real, gaussian_stats(real, budget_mb))


def fid_infinity(
    fake: np.ndarray, real: np.ndarray, points: int = 15, min_fraction: float = 0.2, seed: int = 0
) -> float:
    """FID extrapolated to infinitely many generated samples (Chong & Forsyth 2020).

    FID of `points` random subsets of the fake features, of sizes evenly spaced from
    `min_fraction` N to N, against the full real statistics; the intercept of the
    least-squares line FID = a + b / n.
    """
    n = len(fake)
    real_stats = gaussian_stats(real)
    rng = np.random.default_rng(seed)
    sizes = np.unique(np.linspace(max(2, int(min_fraction * n)), n, points).astype(int))
    if len(sizes) < 2:
        raise ValueError(f"FID-infinity needs at least 2 distinct subset sizes, got {n} samples")
    fids = []
    for size in sizes:
        sub = fake[np.sort(rng.choice(n, size, replace=False))]
        fids.append(fid_from_stats_and_features(sub, gaussian_stats(sub), real, real_stats))
    slope, intercept = np.polyfit(1.0 / sizes, np.asarray(fids), 1)
    return float(intercept)


def _describe_fid(ev: dict[str, Any]) -> str:
    return ("FID: Fréchet distance between Gaussians fitted to the generated and the reference features, in float64 "
            "(Heusel et al. 2017).")


@register_metric("fid", measures=(Measure("fid", "FID", LOWER, "quality", sized=True),), describe=_describe_fid)
def fid_metric(ctx: EvalContext) -> dict[str, float]:
    """FID of generated vs held-out real features."""
    budget = float(ctx.cfg.get("memory_mb", DEFAULT_BUDGET_MB))
    return {"fid": fid_from_features(ctx.fake_features, ctx.real_features, budget)}


@register_metric("fid_inf", measures=(Measure("fid_inf", "FID-inf", LOWER, "quality", sized=True, stem="fid", suffix="inf"),),
                 describe=lambda ev: "FID-inf: FID extrapolated to infinitely many generated samples (Chong & Forsyth 2020).")
def fid_inf_metric(ctx: EvalContext) -> dict[str, float]:
    """FID-infinity of generated vs held-out real features (optional; not in the default metric list)."""
    return {"fid_inf": fid_infinity(ctx.fake_features, ctx.real_features, seed=int(ctx.cfg.get("sample_seed", 0)))}
