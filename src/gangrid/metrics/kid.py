"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD^2 with the cubic polynomial
kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets (mean and std reported)."""

from __future__ import annotations

import numpy as np

from gangrid.metrics import EvalContext, register_metric


def mmd2_unbiased_poly(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between two equal-size sets under the cubic polynomial kernel."""
    d = x.shape[1]
    m = x.shape[0]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    a = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    b = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(a + b - 2 * kxy.mean())


def kernel_distance(fake: np.ndarray, real: np.ndarray, num_subsets: int = 100, max_subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID mean and std over `num_subsets` random subsets of size min(N_fake, N_real, max_subset_size)."""
    fake = fake.astype(np.float64)
    real = real.astype(np.float64)
    m = min(len(fake), len(real), max_subset_size)
    rng = np.random.default_rng(seed)
    values = np.empty(num_subsets)
    for i in range(num_subsets):
        x = fake[rng.choice(len(fake), m, replace=False)]
        y = real[rng.choice(len(real), m, replace=False)]
        values[i] = mmd2_unbiased_poly(x, y)
    return float(values.mean()), float(values.std())


@register_metric("kid")
def kid_metric(ctx: EvalContext) -> dict[str, float]:
    """KID (mean and std over subsets) of generated vs held-out real features."""
    mean, std = kernel_distance(
        ctx.fake_features, ctx.real_features, int(ctx.cfg.get("kid_subsets", 100)), int(ctx.cfg.get("kid_subset_size", 1000))
    )
    return {f"kid{ctx.tag()}": mean, f"kid{ctx.tag()}_std": std}
