"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD^2 estimate with the cubic
polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets (mean and std reported).

Subsets are drawn exactly as clean-fid's `kernel_distance(feats1, feats2)` draws
them (legacy `RandomState`, a subset of feats2 then one of feats1, per round), so
with the same seed both give the same value. The kernel is cubed and summed
chunk by chunk of the Gram matrix while in cache (no pow, no temporaries the
size of the Gram matrix), and a term whose subset is the whole set (a mere
permutation) is computed once.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from gangrid.metrics import LOWER, EvalContext, Measure, register_metric
from gangrid.metrics.knn import as_f64


def kid_subsets(n1: int, n2: int, m: int, num_subsets: int, seed: int | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(indices into set 1, indices into set 2) of size m per round, in clean-fid's draw order."""
    rng = np.random.RandomState(seed) if seed is not None else np.random.mtrand._rand
    for _ in range(num_subsets):
        i2 = rng.choice(n2, m, replace=False)
        i1 = rng.choice(n1, m, replace=False)
        yield i1, i2


class _CubicKernel:
    """Sums of k(x, y) = (x.y / d + 1)^3 over pairs of rows of two m-row blocks.

    Rows are pre-scaled by 1/sqrt(d). The Gram matrix comes from one BLAS call
    (syrk for a within-set block) into a reused buffer; it is then shifted by 1,
    cubed and summed a cache-sized chunk at a time, so the cube is never
    written to memory.
    """

    def __init__(self, m: int, d: int, chunk_bytes: int = 1 << 19) -> None:
        self.scale = 1.0 / np.sqrt(d)
        self.gram = np.empty((m, m))
        self.chunk = int(max(1024, chunk_bytes // 8))
        self.square = np.empty(self.chunk)

    def scaled(self, features: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """float64 rows (all, or those at idx) times 1/sqrt(d)."""
        x = np.asarray(features, dtype=np.float64)
        x = x[idx] if idx is not None else x.copy()
        x *= self.scale
        return x

    def self_term(self, xs: np.ndarray) -> float:
        """Mean of k(x_i, x_j) over i != j (the unbiased within-set term) of pre-scaled rows."""
        m = len(xs)
        diag = (np.einsum("ij,ij->i", xs, xs) + 1.0) ** 3
        return (self._cube_sum(xs, xs) - float(diag.sum())) / (m * (m - 1))

    def cross_term(self, xs: np.ndarray, ys: np.ndarray) -> float:
        """Mean of k(x_i, y_j) over all pairs of pre-scaled rows."""
        return self._cube_sum(xs, ys) / (len(xs) * len(ys))

    def _cube_sum(self, a: np.ndarray, b: np.ndarray) -> float:
        """sum over all (i, j) of (a_i.b_j + 1)^3."""
        fits = self.gram.shape == (len(a), len(b))
        k = np.matmul(a, b.T, out=self.gram if fits else None).reshape(-1)  # a @ a.T: numpy calls syrk
        total = 0.0
        for c0 in range(0, len(k), self.chunk):
            part = k[c0 : c0 + self.chunk]
            part += 1.0
            cube = np.multiply(part, part, out=self.square[: len(part)])
            cube *= part
            total += float(cube.sum())  # numpy's pairwise sum: no BLAS call (and no thread hand-off) per chunk
        return total


def mmd2_unbiased_poly(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between two equal-size sets under the cubic polynomial kernel."""
    x, y = as_f64(x), as_f64(y)
    kernel = _CubicKernel(len(x), x.shape[1])
    xs, ys = kernel.scaled(x), kernel.scaled(y)
    return kernel.self_term(xs) + kernel.self_term(ys) - 2.0 * kernel.cross_term(xs, ys)


def kernel_distance(
    feats1: np.ndarray, feats2: np.ndarray, num_subsets: int = 100, max_subset_size: int = 1000, seed: int | None = 0
) -> tuple[float, float]:
    """KID mean and std (over subsets) between two feature sets, subsets of size min(N1, N2, max_subset_size).

    `seed=None` draws from numpy's global random state, as clean-fid does.
    """
    f1, f2 = as_f64(feats1), as_f64(feats2)
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(f"feature dimensions differ: {f1.shape[1]} vs {f2.shape[1]}")
    m = min(len(f1), len(f2), max_subset_size)
    if m < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {len(f1)} and {len(f2)}")
    kernel = _CubicKernel(m, f1.shape[1])
    whole1 = kernel.scaled(f1) if m == len(f1) else None
    whole2 = kernel.scaled(f2) if m == len(f2) else None
    term1 = kernel.self_term(whole1) if whole1 is not None else None
    term2 = kernel.self_term(whole2) if whole2 is not None else None
    if whole1 is not None and whole2 is not None:  # every subset is the whole of both sets
        return term1 + term2 - 2.0 * kernel.cross_term(whole1, whole2), 0.0
    values = np.empty(num_subsets)
    for s, (i1, i2) in enumerate(kid_subsets(len(f1), len(f2), m, num_subsets, seed)):
        x = whole1 if whole1 is not None else kernel.scaled(f1, i1)  # a permutation: same sums
        y = whole2 if whole2 is not None else kernel.scaled(f2, i2)
        t1 = term1 if term1 is not None else kernel.self_term(x)
        t2 = term2 if term2 is not None else kernel.self_term(y)
        values[s] = t1 + t2 - 2.0 * kernel.cross_term(x, y)
    return float(values.mean()), float(values.std())


def _kid_protocol(ev: dict[str, Any], ctx: EvalContext) -> dict[str, Any]:
    return {"kid_subsets": int(ev.get("kid_subsets", 100)),
            "kid_subset_size": int(min(len(ctx.fake), len(ctx.real), int(ev.get("kid_subset_size", 1000))))}


def _describe_kid(ev: dict[str, Any]) -> str:
    return (f"KID: unbiased MMD² with the cubic polynomial kernel, mean ± std over {ev.get('kid_subsets', 100)} subsets "
            f"of size min(N, {ev.get('kid_subset_size', 1000)}) (Bińkowski et al. 2018).")


@register_metric("kid", measures=(Measure("kid", "KID", LOWER, "quality", sized=True, spread=True),),
                 protocol=_kid_protocol, describe=_describe_kid)
def kid_metric(ctx: EvalContext) -> dict[str, float]:
    """KID (mean and std over eval.kid_subsets subsets) of generated vs held-out real features."""
    mean, std = kernel_distance(
        ctx.fake_features,
        ctx.real_features,
        int(ctx.cfg.get("kid_subsets", 100)),
        int(ctx.cfg.get("kid_subset_size", 1000)),
        seed=int(ctx.cfg.get("sample_seed", 0)),
    )
    return {"kid": mean, "kid_std": std}
