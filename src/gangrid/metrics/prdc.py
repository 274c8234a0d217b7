"""Improved precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020).

With real features R, fake features F and r_k(v) the distance from v to its
k-th nearest neighbour in its own set:
  precision = share of fake f with ||f - r|| < r_k(r) for some real r
  recall    = share of real r with ||r - f|| < r_k(f) for some fake f
  density   = (1 / kN_fake) sum_f #{real r : ||f - r|| < r_k(r)}
  coverage  = share of real r whose nearest fake lies within r_k(r)
Equal to the `prdc` package on the same features, in one memory-bounded pass
over the real-vs-fake distances (no N x N matrix).
"""

from __future__ import annotations

import numpy as np

from gangrid.metrics import HIGHER, EvalContext, Measure, register_metric
from gangrid.metrics.knn import DEFAULT_BUDGET_MB, cross_blocks, knn_sq_radii


def prdc(
    real: np.ndarray,
    fake: np.ndarray,
    pr_k: int = 3,
    dc_k: int = 5,
    budget_mb: float = DEFAULT_BUDGET_MB,
    block: int = 1024,
) -> dict[str, float]:
    """Precision and recall with k = pr_k, density and coverage with k = dc_k.

    The real-vs-fake distances come in row blocks within `budget_mb`; the k-NN radii in `block`-sized tiles.
    """
    real_r = knn_sq_radii(real, tuple(sorted({pr_k, dc_k})), block)
    fake_r = knn_sq_radii(fake, (pr_k,), block)[pr_k]
    n_fake = len(fake)
    precise = np.zeros(n_fake, dtype=bool)
    density_hits = np.zeros(n_fake, dtype=np.int64)
    recalled = np.zeros(len(real), dtype=bool)
    covered = np.zeros(len(real), dtype=bool)
    for rows, d2 in cross_blocks(real, fake, budget_mb):
        inside_pr = d2 < real_r[pr_k][rows, None]
        precise |= inside_pr.any(axis=0)
        recalled[rows] = (d2 < fake_r[None, :]).any(axis=1)
        inside_dc = inside_pr if dc_k == pr_k else d2 < real_r[dc_k][rows, None]
        density_hits += inside_dc.sum(axis=0, dtype=np.uint16)  # blocks have < 2^16 rows
        covered[rows] = inside_dc.any(axis=1)
    return {
        "precision": float(precise.mean()),
        "recall": float(recalled.mean()),
        "density": float(density_hits.sum() / (dc_k * n_fake)),
        "coverage": float(covered.mean()),
    }


@register_metric("prdc", measures=tuple(Measure(k, k.capitalize(), HIGHER, "prdc", sized=True)
                                         for k in ("precision", "recall", "density", "coverage")),
                 protocol=lambda ev, ctx: {"pr_k": int(ev.get("pr_k", 3)), "dc_k": int(ev.get("dc_k", 5))},
                 describe=lambda ev: (f"Precision and recall with k = {ev.get('pr_k', 3)} (Kynkäänniemi et al. 2019), "
                                      f"density and coverage with k = {ev.get('dc_k', 5)} (Naeem et al. 2020)."))
def prdc_metric(ctx: EvalContext) -> dict[str, float]:
    """Precision/recall (k = eval.pr_k) and density/coverage (k = eval.dc_k) of fake vs held-out real features."""
    values = prdc(
        ctx.real_features,
        ctx.fake_features,
        int(ctx.cfg.get("pr_k", 3)),
        int(ctx.cfg.get("dc_k", 5)),
        float(ctx.cfg.get("memory_mb", DEFAULT_BUDGET_MB)),
    )
    return values
