"""Fréchet distance between Gaussians fitted to features (Heusel et al. 2017), in float64.

The trace of the matrix square root is computed from the eigenvalues of
S_r S_g (real parts of sqrt of its eigenvalues), not from an SVD of the
product, which is not its square root (TECHNIQUES.md section 6).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from gangrid.metrics import EvalContext, register_metric


def gaussian_stats(features: np.ndarray, batch: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of (N, d) features, accumulated in float64 batches."""
    n, d = features.shape
    mu = np.zeros(d)
    for i in range(0, n, batch):
        mu += features[i : i + batch].astype(np.float64).sum(0)
    mu /= n
    cov = np.zeros((d, d))
    for i in range(0, n, batch):
        c = features[i : i + batch].astype(np.float64) - mu
        cov += c.T @ c
    cov /= max(n - 1, 1)
    return mu, cov


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)), via eigenvalues of S1 S2."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    diff = mu1 - mu2
    eig = scipy.linalg.eigvals(s1 @ s2)
    tr_sqrt = np.sqrt(eig.astype(np.complex128)).real.sum()
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)


def fid_from_features(fake: np.ndarray, real: np.ndarray) -> float:
    """FID between two feature sets."""
    return frechet_distance(*gaussian_stats(fake), *gaussian_stats(real))


@register_metric("fid")
def fid_metric(ctx: EvalContext) -> dict[str, float]:
    """FID of generated vs held-out real features."""
    return {f"fid{ctx.tag()}": fid_from_features(ctx.fake_features, ctx.real_features)}
