"""Metrics of translated images (registered in `gangrid.metrics` with kind "translation").

On uint8 images, pixel values scaled to [0, 1]:
  l1          mean |output - target| over pixels and images (paired test data)
  psnr        mean over images of 10 log10(1 / MSE) (dB; MSE floored at 1e-10, i.e. at most 100 dB)
  ssim        mean SSIM (Wang et al. 2004): Gaussian window sigma 1.5 (11 x 11), K1 0.01, K2 0.03,
              population covariances, averaged over the windows that lie inside the image and over
              channels; equals skimage's structural_similarity(gaussian_weights=True, sigma=1.5,
              use_sample_covariance=False, data_range=255). Images under 11 px use the largest
              window that fits (same sigma).
  cycle       mean |F(G(a)) - a| (the A -> B -> A cycle error of CycleGAN; Zhu et al. 2017)
  acc_target  share of translations the domain classifier assigns to their target class: the
              pair's label on paired sets, any class of the target domain on class-domain sets
              (the "FCN-score" idea of pix2pix / CycleGAN with the pipeline's classifier)
Names of the B -> A direction carry the suffix `_ba` (see `with_suffix`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gangrid.metrics import HIGHER, LOWER, EvalContext, Measure, register_metric

C1 = 0.01**2  # (K1 * data range)^2 on the [0, 1] scale
C2 = 0.03**2
SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # scipy / skimage: int(truncate 3.5 * sigma + 0.5)
MSE_FLOOR = 1e-10


@dataclass
class TranslationContext(EvalContext):
    """An EvalContext of one translation direction: `fake` = translations, `real` = held-out target-domain images,
    plus the inputs, paired targets, cycle reconstructions and the target classes."""

    src: np.ndarray | None = None
    target: np.ndarray | None = None
    rec: np.ndarray | None = None
    target_labels: np.ndarray | None = None  # per translation: its target class (paired sets)
    target_classes: tuple[int, ...] | None = None  # or: any of these classes (class-domain sets)


def unit(x: np.ndarray) -> torch.Tensor:
    """uint8 (or [0, 255] float) images -> float64 tensor in [0, 1]."""
    return torch.from_numpy(np.asarray(x, dtype=np.float64) / 255.0)


CHUNK_BYTES = 1 << 27  # float64 working set per array: images are scored in chunks of about 128 MB


def chunks(x: np.ndarray) -> list[slice]:
    """Slices of the image axis whose float64 copies stay within CHUNK_BYTES."""
    per_image = max(1, int(np.prod(np.shape(x)[1:])) * 8)
    step = max(1, CHUNK_BYTES // per_image)
    return [slice(i, i + step) for i in range(0, len(x), step)]


def per_image(fn, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """`fn(x_chunk, y_chunk) -> per-image values`, concatenated over memory-bounded chunks."""
    return np.concatenate([fn(x[c], y[c]) for c in chunks(x)]) if len(x) else np.zeros(0)


def l1_error(x: np.ndarray, y: np.ndarray) -> float:
    """Mean absolute difference of two image sets on the [0, 1] scale."""
    return float(per_image(lambda a, b: (unit(a) - unit(b)).abs().flatten(1).mean(1).numpy(), x, y).mean())


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    """Mean over images of the PSNR (dB, peak 1 on the [0, 1] scale)."""
    def one(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        mse = ((unit(a) - unit(b)) ** 2).flatten(1).mean(1).clamp_min(MSE_FLOOR)
        return (10 * torch.log10(1.0 / mse)).numpy()

    return float(per_image(one, x, y).mean())


def gaussian_window(radius: int, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """Normalised 1-D Gaussian taps for offsets -radius..radius (float64)."""
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (t / sigma) ** 2)
    return w / w.sum()


def ssim_per_image(x: np.ndarray, y: np.ndarray, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """SSIM of each pair of NCHW images (mean over channels and over windows inside the image)."""
    return per_image(lambda a, b: _ssim(a, b, sigma), x, y)


def _ssim(x: np.ndarray, y: np.ndarray, sigma: float) -> np.ndarray:
    a, b = unit(x), unit(y)
    n, c, h, w = a.shape
    r = min(SSIM_RADIUS, (min(h, w) - 1) // 2)
    g = gaussian_window(r, sigma)
    kx, ky = g.view(1, 1, 1, -1), g.view(1, 1, -1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:  # 'valid' separable Gaussian filter, per channel
        t = t.reshape(n * c, 1, h, w)
        return F.conv2d(F.conv2d(t, kx), ky)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + C1) * (2 * cov + C2)) / ((mu_a**2 + mu_b**2 + C1) * (var_a + var_b + C2))
    return s.reshape(n, -1).mean(1).numpy()


def ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Mean SSIM over pairs of images."""
    return float(ssim_per_image(x, y).mean())


def target_accuracy(probs: np.ndarray, labels: np.ndarray | None = None, classes: tuple[int, ...] | None = None) -> float:
    """Share of rows whose most probable class is their label (labels) or one of `classes`."""
    pred = np.asarray(probs).argmax(1)
    if labels is not None:
        return float(np.mean(pred == np.asarray(labels)))
    assert classes is not None
    return float(np.mean(np.isin(pred, list(classes))))


def with_suffix(name: str, suffix: str) -> str:
    """`fid359_clf` + `_ba` -> `fid359_clf_ba`; a per-run spread keeps `_std` last (`kid359_clf_ba_std`)."""
    if not suffix:
        return name
    return f"{name[:-4]}{suffix}_std" if name.endswith("_std") else f"{name}{suffix}"


@register_metric("l1", kinds=("translation",), measures=(Measure("l1", "L1", LOWER, "translation"),))
def l1_metric(ctx: TranslationContext) -> dict[str, float]:
    """L1 between translations and their paired targets."""
    return {} if ctx.target is None else {"l1": l1_error(ctx.fake, ctx.target)}


@register_metric("psnr", kinds=("translation",), measures=(Measure("psnr", "PSNR", HIGHER, "translation"),))
def psnr_metric(ctx: TranslationContext) -> dict[str, float]:
    """PSNR of translations against their paired targets."""
    return {} if ctx.target is None else {"psnr": psnr(ctx.fake, ctx.target)}


@register_metric("ssim", kinds=("translation",), measures=(Measure("ssim", "SSIM", HIGHER, "translation"),))
def ssim_metric(ctx: TranslationContext) -> dict[str, float]:
    """SSIM of translations against their paired targets."""
    return {} if ctx.target is None else {"ssim": ssim(ctx.fake, ctx.target)}


@register_metric("cycle", kinds=("translation",), measures=(Measure("cycle", "Cycle L1", LOWER, "translation"),))
def cycle_metric(ctx: TranslationContext) -> dict[str, float]:
    """Cycle-consistency error of the inputs (CycleGAN)."""
    return {} if ctx.rec is None or ctx.src is None else {"cycle": l1_error(ctx.rec, ctx.src)}


@register_metric("acc_target", kinds=("translation",), measures=(Measure("acc_target", "Target-class accuracy", HIGHER, "accuracy", tagged=True),))
def acc_target_metric(ctx: TranslationContext) -> dict[str, float]:
    """Target-class accuracy of the translations under the domain classifier."""
    if ctx.extractor is None or (ctx.target_labels is None and ctx.target_classes is None):
        return {}
    probs = ctx.fake_class_probs
    if probs is None:
        return {}
    return {"acc_target": target_accuracy(probs, ctx.target_labels, ctx.target_classes)}


TRANSLATION_METRICS = ("l1", "psnr", "ssim", "cycle", "acc_target")
