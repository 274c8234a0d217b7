"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD^2 estimate with the cubic
polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets (mean and std reported).

Subsets are drawn exactly as clean-fid's `kernel_distance(feats1, feats2)` draws
them (legacy `RandomState`, a subset of feats2 then one of feats1, per round), so
with the same seed both give the same value. Kernel sums are taken without
materialising the cube (sum k^3 = <k*k, k>) and a term whose subset is the
whole set (a mere permutation) is computed once. Rows are augmented to
[x / sqrt(d), 1] once, so each Gram block is x.y / d + 1 straight from BLAS.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from gangrid.metrics import EvalContext, register_metric
from gangrid.metrics.knn import as_f64


def kid_subsets(n1: int, n2: int, m: int, num_subsets: int, seed: int | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(indices into set 1, indices into set 2) of size m per round, in clean-fid's draw order."""
    rng = np.random.RandomState(seed) if seed is not None else np.random.mtrand._rand
    for _ in range(num_subsets):
        i2 = rng.choice(n2, m, replace=False)
        i1 = rng.choice(n1, m, replace=False)
        yield i1, i2


def augment(features: np.ndarray) -> np.ndarray:
    """[f / sqrt(d), 1] as float64: its Gram matrix is f.g / d + 1, the kernel's inner part, in one product."""
    f = as_f64(features)
    return np.hstack([f * (1.0 / np.sqrt(f.shape[1])), np.ones((len(f), 1))])


class _CubicKernel:
    """Sums of k(a, b) = (a.b / d + 1)^3 over blocks of pairs of augmented rows, with reusable buffers."""

    def __init__(self, m: int) -> None:
        self.gram = np.empty((m, m))
        self.square = np.empty((m, m))

    def _sum(self, a: np.ndarray, b: np.ndarray) -> float:
        fits = self.gram.shape == (len(a), len(b))
        k = np.matmul(a, b.T, out=self.gram if fits else None)
        sq = np.multiply(k, k, out=self.square if fits else None)
        return float(np.vdot(sq, k))

    def self_term(self, xa: np.ndarray) -> float:
        """Mean of k(x_i, x_j) over i != j (the unbiased within-set term)."""
        m = len(xa)
        diag = np.einsum("ij,ij->i", xa, xa) ** 3
        return (self._sum(xa, xa) - float(diag.sum())) / (m * (m - 1))

    def cross_term(self, xa: np.ndarray, ya: np.ndarray) -> float:
        """Mean of k(x_i, y_j) over all pairs."""
        return self._sum(xa, ya) / (len(xa) * len(ya))


def mmd2_unbiased_poly(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between two equal-size sets under the cubic polynomial kernel."""
    xa, ya = augment(x), augment(y)
    kernel = _CubicKernel(len(xa))
    return kernel.self_term(xa) + kernel.self_term(ya) - 2.0 * kernel.cross_term(xa, ya)


def kernel_distance(
    feats1: np.ndarray, feats2: np.ndarray, num_subsets: int = 100, max_subset_size: int = 1000, seed: int | None = 0
) -> tuple[float, float]:
    """KID mean and std (over subsets) between two feature sets, subsets of size min(N1, N2, max_subset_size).

    `seed=None` draws from numpy's global random state, as clean-fid does.
    """
    if feats1.shape[1] != feats2.shape[1]:
        raise ValueError(f"feature dimensions differ: {feats1.shape[1]} vs {feats2.shape[1]}")
    f1, f2 = augment(feats1), augment(feats2)
    m = min(len(f1), len(f2), max_subset_size)
    if m < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {len(f1)} and {len(f2)}")
    kernel = _CubicKernel(m)
    whole1 = kernel.self_term(f1) if m == len(f1) else None
    whole2 = kernel.self_term(f2) if m == len(f2) else None
    if whole1 is not None and whole2 is not None:  # every subset is the whole of both sets
        return whole1 + whole2 - 2.0 * kernel.cross_term(f1, f2), 0.0
    values = np.empty(num_subsets)
    for s, (i1, i2) in enumerate(kid_subsets(len(f1), len(f2), m, num_subsets, seed)):
        x, y = f1[i1], f2[i2]
        t1 = whole1 if whole1 is not None else kernel.self_term(x)
        t2 = whole2 if whole2 is not None else kernel.self_term(y)
        values[s] = t1 + t2 - 2.0 * kernel.cross_term(x, y)
    return float(values.mean()), float(values.std())


@register_metric("kid")
def kid_metric(ctx: EvalContext) -> dict[str, float]:
    """KID (mean and std over eval.kid_subsets subsets) of generated vs held-out real features."""
    mean, std = kernel_distance(
        ctx.fake_features,
        ctx.real_features,
        int(ctx.cfg.get("kid_subsets", 100)),
        int(ctx.cfg.get("kid_subset_size", 1000)),
        seed=int(ctx.cfg.get("sample_seed", 0)),
    )
    return {f"kid{ctx.tag()}": mean, f"kid{ctx.tag()}_std": std}
