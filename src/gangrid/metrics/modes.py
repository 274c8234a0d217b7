"""Mode coverage: 2-D mixtures (PacGAN / VEEGAN protocol) and class histograms of labelled images."""

from __future__ import annotations

from typing import Any

import numpy as np

from gangrid.metrics import HIGHER, LOWER, EvalContext, Measure, register_metric


def assign_modes(points: np.ndarray, centers: np.ndarray, std: float, hq_std: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Nearest mode of each point and whether it is high quality (within hq_std * std of that mode)."""
    d2 = ((points[:, None, :].astype(np.float64) - centers[None, :, :]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    high_quality = np.sqrt(d2[np.arange(len(points)), nearest]) <= hq_std * std
    return nearest, high_quality


def kl_to_uniform(counts: np.ndarray) -> float:
    """KL(p || uniform) of the histogram `counts` (0 when perfectly balanced, log K when one bin)."""
    p = counts / max(counts.sum(), 1)
    k = len(counts)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] * k)).sum())


def mixture_coverage(points: np.ndarray, centers: np.ndarray, std: float, hq_std: float = 3.0, min_count: int = 1) -> dict[str, float]:
    """Modes captured (>= min_count high-quality samples), % high-quality samples, KL(mode histogram || uniform)."""
    nearest, hq = assign_modes(points, centers, std, hq_std)
    counts = np.bincount(nearest[hq], minlength=len(centers)).astype(np.float64)
    return {
        "modes": float((counts >= min_count).sum()),
        "hq_pct": float(100.0 * hq.mean()) if len(points) else 0.0,
        "mode_kl": kl_to_uniform(counts) if counts.sum() else float(np.log(len(centers))),
    }


@register_metric("mixture_modes", kinds=("points",),
                 measures=(Measure("modes", "Modes", HIGHER, "modes"), Measure("modes_total", "Modes total", table="modes", context=True),
                           Measure("hq_pct", "HQ %", HIGHER, "modes"), Measure("mode_kl", "Mode KL", LOWER, "modes")),
                 protocol=lambda ev, ctx: {"hq_std": float(ev.get("hq_std", 3.0))},
                 describe=lambda ev: (f"2-D mixtures: a sample is high quality within {ev.get('hq_std', 3.0)} std of its nearest "
                                      "mode; a mode is captured when it receives at least one high-quality sample; `mode_kl` is "
                                      "the KL divergence of the mode histogram of high-quality samples to uniform (Srivastava et "
                                      "al. 2017; Lin et al. 2018)."))
def mixture_modes_metric(ctx: EvalContext) -> dict[str, float]:
    """2-D mixture coverage of the generated points."""
    centers = np.asarray(ctx.meta["centers"], dtype=np.float64)
    out = mixture_coverage(ctx.fake, centers, float(ctx.meta["std"]), float(ctx.cfg.get("hq_std", 3.0)))
    return {"modes": out["modes"], "modes_total": float(len(centers)), "hq_pct": out["hq_pct"], "mode_kl": out["mode_kl"]}


@register_metric("class_modes", kinds=("image",),
                 measures=(Measure("class_modes", "Classes covered", HIGHER, "classes"),
                           Measure("class_kl", "Class KL", LOWER, "classes")),
                 describe=lambda ev: ("Labelled images: classes the domain classifier predicts at least once, and the KL "
                                      "divergence of the predicted class histogram to uniform."))
def class_modes_metric(ctx: EvalContext) -> dict[str, float]:
    """Classes predicted at least once (out of K) and KL(predicted class histogram || uniform)."""
    probs = ctx.fake_class_probs
    if probs is None:
        return {}
    counts = np.bincount(probs.argmax(1), minlength=probs.shape[1]).astype(np.float64)
    return {"class_modes": float((counts > 0).sum()), "class_kl": kl_to_uniform(counts)}
