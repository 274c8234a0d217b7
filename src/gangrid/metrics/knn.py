"""Memory-bounded Euclidean k-nearest-neighbour radii and real-vs-fake distance passes (float64).

Squared distances are computed block by block as |x|^2 - 2 x.y + |y|^2, clamped
at 0: the same arithmetic, in the same order, as scikit-learn's
`euclidean_distances` (which the `prdc` package uses), so that comparisons
against radii agree with it. No N x N matrix is ever held: the working set is
one block of `block` rows (the budget sets its size).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

DEFAULT_BUDGET_MB = 256.0


def as_f64(x: np.ndarray) -> np.ndarray:
    """A C-contiguous float64 (N, D) view or copy of `x`."""
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(len(x), -1))


def sq_norms(x: np.ndarray) -> np.ndarray:
    """Squared row norms (as scikit-learn's `row_norms(squared=True)` computes them)."""
    return np.einsum("ij,ij->i", x, x)


def block_rows(n_cols: int, budget_mb: float = DEFAULT_BUDGET_MB, copies: int = 3) -> int:
    """Rows per block so that `copies` float64 blocks of n_cols columns fit in `budget_mb`."""
    return int(max(16, min(1 << 15, budget_mb * 2**20 // (8 * max(n_cols, 1) * copies))))


def sq_dist_block(x: np.ndarray, y_m2: np.ndarray, x_sq: np.ndarray, y_sq: np.ndarray) -> np.ndarray:
    """Squared distances between the rows of x and y: (-2 x.y + |x|^2) + |y|^2, clamped at 0.

    `y_m2` is -2 y (scaling by -2 is exact, so x @ y_m2.T equals -2 (x @ y.T) bit for bit).
    """
    d2 = x @ y_m2.T
    d2 += x_sq[:, None]
    d2 += y_sq[None, :]
    np.maximum(d2, 0.0, out=d2)
    return d2


def _merge_smallest(best: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Per row, the k smallest of `best` (rows, k) and `cand` (rows, m), unsorted."""
    k = best.shape[1]
    both = np.concatenate([best, cand], axis=1)
    if both.shape[1] > k:
        both.partition(k - 1, axis=1)
    return both[:, :k]


def knn_sq_radii(x: np.ndarray, ks: tuple[int, ...], budget_mb: float = DEFAULT_BUDGET_MB) -> dict[int, np.ndarray]:
    """For each k in `ks`: the squared distance of every row of x to its k-th nearest other row.

    The point itself is excluded (the `prdc` package gets the same radius as the
    (k+1)-th smallest distance including the zero self-distance). Only blocks on
    and above the diagonal are computed; each serves its rows and its columns.
    """
    x = as_f64(x)
    n = len(x)
    kmax = max(ks)
    if n <= kmax:
        raise ValueError(f"need more than k={kmax} points for k-NN radii, got {n}")
    x_sq = sq_norms(x)
    x_m2 = -2.0 * x
    best = np.full((n, kmax), np.inf)
    b = min(n, max(kmax + 1, int(np.sqrt(budget_mb * 2**20 / (8 * 3)))))
    for i0 in range(0, n, b):
        i1 = min(i0 + b, n)
        for j0 in range(i0, n, b):
            j1 = min(j0 + b, n)
            d2 = sq_dist_block(x[i0:i1], x_m2[j0:j1], x_sq[i0:i1], x_sq[j0:j1])
            if j0 == i0:
                np.fill_diagonal(d2, np.inf)
            best[i0:i1] = _merge_smallest(best[i0:i1], d2)
            if j0 != i0:
                best[j0:j1] = _merge_smallest(best[j0:j1], d2.T)
    best.sort(axis=1)
    return {k: best[:, k - 1].copy() for k in ks}


def cross_blocks(
    x: np.ndarray, y: np.ndarray, budget_mb: float = DEFAULT_BUDGET_MB
) -> Iterator[tuple[slice, np.ndarray]]:
    """Row blocks of the squared distances between x (rows) and y (columns), as (rows of x, block)."""
    x, y = as_f64(x), as_f64(y)
    x_sq, y_sq, y_m2 = sq_norms(x), sq_norms(y), -2.0 * y
    b = block_rows(len(y), budget_mb)
    for i0 in range(0, len(x), b):
        rows = slice(i0, min(i0 + b, len(x)))
        yield rows, sq_dist_block(x[rows], y_m2, x_sq[rows], y_sq)
