"""Registers the translation metrics l1, psnr, ssim, cycle, acc_target (kind "translation"; code: gangrid.translation.metrics)."""

import gangrid.translation.metrics  # noqa: F401  (registration side effect)
