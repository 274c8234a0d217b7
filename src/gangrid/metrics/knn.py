"""Memory-bounded Euclidean k-nearest-neighbour radii and real-vs-fake distance passes (float64).

Squared distances are computed block by block as |x|^2 - 2 x.y + |y|^2, clamped
at 0: the expansion scikit-learn's `euclidean_distances` uses (and so the `prdc`
package), here as one matrix product of [x, |x|^2, 1] and [-2y, 1, |y|^2];
values agree with it to rounding, so comparisons against radii agree except
at exact ties. No N x N matrix is ever held: k-NN radii work on
fixed-size tiles, real-vs-fake passes on row blocks within a memory budget.
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


def lhs(x: np.ndarray, x_sq: np.ndarray) -> np.ndarray:
    """[x, |x|^2, 1]: the left factor of the one-product squared distance."""
    return np.hstack([x, x_sq[:, None], np.ones((len(x), 1))])


def rhs(y: np.ndarray, y_sq: np.ndarray) -> np.ndarray:
    """[-2 y, 1, |y|^2]: the right factor, so that lhs(x) @ rhs(y).T = |x|^2 - 2 x.y + |y|^2."""
    return np.hstack([-2.0 * y, np.ones((len(y), 1)), y_sq[:, None]])


def sq_dist_block(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distances from factors a = lhs(x), b = rhs(y): one matrix product, clamped at 0."""
    d2 = a @ b.T
    np.maximum(d2, 0.0, out=d2)
    return d2


def _merge_smallest(best: np.ndarray, d2: np.ndarray, axis: int) -> np.ndarray:
    """The k smallest per row of `best` (n, k) together with the values of d2 along `axis` (unsorted).

    axis=1: best's rows are d2's rows; axis=0: best's rows are d2's columns.
    """
    k = best.shape[1]
    if np.isinf(best).any():  # rows still filling up: take the k smallest of everything
        both = np.concatenate([best, d2 if axis == 1 else d2.T], axis=1)
        if both.shape[1] > k:
            both.partition(k - 1, axis=1)
        return both[:, :k]
    tau = best.max(axis=1)  # only values below a row's current k-th smallest can enter
    mask = d2 < (tau[:, None] if axis == 1 else tau[None, :])
    hit = np.flatnonzero(mask.any(axis=axis))  # d2 rows (axis=1) / columns (axis=0) with a candidate
    if hit.size == 0:
        return best
    if axis == 1:
        i, j = np.nonzero(mask[hit])
        rows, values = hit[i], d2[hit[i], j]
    else:
        j, i = np.nonzero(mask[:, hit].T)
        rows, values = hit[j], d2[i, hit[j]]
    counts = np.bincount(rows, minlength=len(best))
    touched = np.flatnonzero(counts)
    slot = np.cumsum(counts > 0) - 1  # row -> index among touched rows
    pos = np.arange(rows.size) - (np.cumsum(counts) - counts)[rows]  # rank of each candidate within its row
    merged = np.full((len(touched), k + int(counts.max())), np.inf)
    merged[:, :k] = best[touched]
    merged[slot[rows], k + pos] = values
    merged.partition(k - 1, axis=1)
    out = best.copy()
    out[touched] = merged[:, :k]
    return out


def knn_sq_radii(x: np.ndarray, ks: tuple[int, ...], block: int = 1024) -> dict[int, np.ndarray]:
    """For each k in `ks`: the squared distance of every row of x to its k-th nearest other row.

    The point itself is excluded (the `prdc` package gets the same radius as the
    (k+1)-th smallest distance including the zero self-distance). Only tiles on
    and above the diagonal are computed; each serves its rows and its columns.
    Tiles are `block` x `block` whatever N; a tile's values enter a row's k
    smallest only where they beat its current k-th (cheap once rows fill up).
    """
    x = as_f64(x)
    n = len(x)
    kmax = max(ks)
    if n <= kmax:
        raise ValueError(f"need more than k={kmax} points for k-NN radii, got {n}")
    x_sq = sq_norms(x)
    a, b_ = lhs(x, x_sq), rhs(x, x_sq)
    best = np.full((n, kmax), np.inf)
    b = max(block, kmax + 1)
    for i0 in range(0, n, b):
        i1 = min(i0 + b, n)
        for j0 in range(i0, n, b):
            j1 = min(j0 + b, n)
            d2 = sq_dist_block(a[i0:i1], b_[j0:j1])
            if j0 == i0:
                np.fill_diagonal(d2, np.inf)
            best[i0:i1] = _merge_smallest(best[i0:i1], d2, axis=1)
            if j0 != i0:
                best[j0:j1] = _merge_smallest(best[j0:j1], d2, axis=0)
    best.sort(axis=1)
    return {k: best[:, k - 1].copy() for k in ks}


def cross_blocks(
    x: np.ndarray, y: np.ndarray, budget_mb: float = DEFAULT_BUDGET_MB
) -> Iterator[tuple[slice, np.ndarray]]:
    """Row blocks of the squared distances between x (rows) and y (columns), as (rows of x, block)."""
    x, y = as_f64(x), as_f64(y)
    a, b_ = lhs(x, sq_norms(x)), rhs(y, sq_norms(y))
    b = block_rows(len(y), budget_mb)
    for i0 in range(0, len(x), b):
        rows = slice(i0, min(i0 + b, len(x)))
        yield rows, sq_dist_block(a[rows], b_)
