"""Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))), mean and std over splits.

On Inception-V3 (`is50k_incep`) p(y|x) comes from the network's logits (see
gangrid.metrics.inception); the splits are consecutive, as in stylegan2-ada
(torch-fidelity shuffles first, seed 2020), and the std is the population std of
the split scores, as in both. With the pipeline's domain classifier giving p(y|x)
this is the "classifier score"; it lies in [1, C] for C classes: 1 when every
prediction is the same distribution, C when predictions are confident and the
classes balanced.
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
                 describe=lambda ev: (f"IS: exp E KL(p(y|x) || p(y)), mean ± std over {ev.get('is_splits', 10)} "
                                      f"consecutive splits of the generated samples (Salimans et al. 2016): on "
                                      f"Inception-V3 (`_incep`) from its 1008 logits without the output bias, as "
                                      f"stylegan2-ada and torch-fidelity compute it (torch-fidelity shuffles the "
                                      f"samples before splitting); on the domain classifier (`_clf`) from its "
                                      f"softmax, the classifier score."))
def inception_score_metric(ctx: EvalContext) -> dict[str, float]:
    """IS of the generated samples from the extractor's class probabilities (classifier score for `clf`)."""
    probs = ctx.fake_probs
    if probs is None:
        return {}
    mean, std = inception_score(probs, int(ctx.cfg.get("is_splits", 10)))
    return {"is": mean, "is_std": std}
