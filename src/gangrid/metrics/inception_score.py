"""Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))), mean and std over splits.

With the pipeline's domain classifier giving p(y|x) this is the "classifier
score"; it lies in [1, C] for C classes: 1 when every prediction is the same
distribution, C when predictions are confident and the classes balanced.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from gangrid.metrics import HIGHER, EvalContext, Measure, register_metric


def inception_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """Mean and std of exp(mean KL(p(y|x) || p(y))) over `splits` consecutive equal parts of (N, C) probabilities."""
    p = np.asarray(probs, dtype=np.float64)
    n = len(p)
    if n < splits:
        raise ValueError(f"inception score with {splits} splits needs at least {splits} samples, got {n}")
    scores = np.empty(splits)
    for k in range(splits):
        part = p[k * n // splits : (k + 1) * n // splits]
        marginal = part.mean(axis=0, keepdims=True)
        kl = (xlogy(part, part) - xlogy(part, marginal)).sum(axis=1).mean()
        scores[k] = np.exp(kl)
    return float(scores.mean()), float(scores.std())


@register_metric("is", kinds=("image",), measures=(Measure("is", "IS", HIGHER, "quality", sized=True, spread=True),),
                 protocol=lambda ev, ctx: {"is_splits": int(ev.get("is_splits", 10))},
                 describe=lambda ev: (f"IS: exp E KL(p(y|x) || p(y)) from the extractor's class probabilities (on the "
                                      f"domain classifier: the classifier score), mean ± std over {ev.get('is_splits', 10)} "
                                      f"splits (Salimans et al. 2016)."))
def inception_score_metric(ctx: EvalContext) -> dict[str, float]:
    """IS of the generated samples from the extractor's class probabilities (classifier score for `clf`)."""
    probs = ctx.fake_probs
    if probs is None:
        return {}
    mean, std = inception_score(probs, int(ctx.cfg.get("is_splits", 10)))
    return {"is": mean, "is_std": std}
