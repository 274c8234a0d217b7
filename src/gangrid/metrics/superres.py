"""Metrics of super-resolved images against their high-resolution originals (study kind `superres`).

On uint8 images, pixel values scaled to [0, 1], per image then averaged (the PSNR / SSIM functions of
gangrid.metrics.translation):
  sr_psnr  10 log10(1 / MSE) in dB (MSE floored at 1e-10)
  sr_ssim  SSIM with a Gaussian window (sigma 1.5), K1 0.01, K2 0.03
Shown in the report's `superres` table, beside the bicubic upsampler's row; FID / KID / PRDC of the SR
outputs to the HR test split are the image metrics of `eval.metrics` (quality and PRDC tables).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gangrid.metrics import HIGHER, EvalContext, Measure, register_metric, register_table
from gangrid.metrics.translation import psnr, ssim

register_table("superres", "Super-resolution: fidelity to the high-resolution images", 52)


@dataclass
class SuperResContext(EvalContext):
    """An EvalContext whose `fake` are SR outputs and `target` their HR originals, in the same order."""

    target: np.ndarray | None = None


@register_metric("sr_psnr", kinds=("superres",), measures=(Measure("sr_psnr", "PSNR (dB)", HIGHER, "superres"),))
def sr_psnr(ctx: SuperResContext) -> dict[str, float]:
    """Mean PSNR of the SR outputs against their HR originals."""
    return {} if ctx.target is None else {"sr_psnr": psnr(ctx.fake, ctx.target)}


@register_metric("sr_ssim", kinds=("superres",), measures=(Measure("sr_ssim", "SSIM", HIGHER, "superres"),))
def sr_ssim(ctx: SuperResContext) -> dict[str, float]:
    """Mean SSIM of the SR outputs against their HR originals."""
    return {} if ctx.target is None else {"sr_ssim": ssim(ctx.fake, ctx.target)}


SR_METRICS = ("sr_psnr", "sr_ssim")
