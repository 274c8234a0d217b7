"""Translation metrics (vs scikit-image and closed forms), sliding-window inference, triptychs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from gangrid.metrics import get_metric
from gangrid.kinds.translation.figures import triptych_panels
from gangrid.kinds.translation.inference import pyramid_weights, sliding_window, window_starts
from gangrid.metrics.translation import (
    C1,
    TranslationContext,
    l1_error,
    psnr,
    ssim,
    ssim_per_image,
    target_accuracy,
    with_suffix,
)
from translation_util import one_thread  # noqa: F401


def noisy_pairs(shape=(4, 3, 16, 16), noise: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, shape, dtype=np.uint8)
    y = np.clip(x.astype(int) + rng.integers(-noise, noise + 1, shape), 0, 255).astype(np.uint8)
    return x, y


@pytest.mark.parametrize("shape", [(4, 3, 16, 16), (3, 1, 32, 24), (2, 1, 11, 11)])
def test_ssim_equals_scikit_image(shape):
    x, y = noisy_pairs(shape)
    ours = ssim_per_image(x, y)
    ref = [structural_similarity(x[i], y[i], channel_axis=0, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=255) for i in range(len(x))]
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


def test_ssim_closed_forms():
    x, _ = noisy_pairs()
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-12)
    a, b = np.full((1, 1, 16, 16), 200, np.uint8), np.full((1, 1, 16, 16), 50, np.uint8)
    ua, ub = 200 / 255, 50 / 255  # constant images: only the luminance term is left
    assert ssim(a, b) == pytest.approx((2 * ua * ub + C1) / (ua**2 + ub**2 + C1), rel=1e-12)


def test_psnr_and_l1():
    x, y = noisy_pairs()
    ref = np.mean([peak_signal_noise_ratio(x[i], y[i], data_range=255) for i in range(len(x))])
    assert psnr(x, y) == pytest.approx(ref, rel=1e-12)
    a, b = np.full((2, 1, 8, 8), 100, np.uint8), np.full((2, 1, 8, 8), 151, np.uint8)  # error 51 / 255 = 0.2
    assert psnr(a, b) == pytest.approx(10 * np.log10(1 / 0.2**2))
    assert l1_error(a, b) == pytest.approx(0.2)
    assert psnr(a, a) == pytest.approx(100.0)  # the MSE floor keeps identical images finite


def test_target_accuracy_with_labels_and_class_sets():
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])
    assert target_accuracy(probs, labels=np.array([0, 1, 1, 0])) == 0.75
    assert target_accuracy(probs, classes=(1, 2)) == 0.5


def test_direction_suffix_keeps_std_last():
    assert with_suffix("fid359_clf", "_ba") == "fid359_clf_ba"
    assert with_suffix("kid359_clf_std", "_ba") == "kid359_clf_ba_std"
    assert with_suffix("ssim", "") == "ssim"


def test_registered_translation_metrics_read_the_context():
    x, y = noisy_pairs()
    ctx = TranslationContext(kind="translation", fake=x, real=y, cfg={"n_samples": 4}, src=y, target=y, rec=x)
    assert get_metric("ssim").fn(ctx) == {"ssim": ssim(x, y)}
    assert get_metric("cycle").fn(ctx) == {"cycle": l1_error(x, y)}
    assert get_metric("acc_target").fn(ctx) == {}  # no classifier
    bare = TranslationContext(kind="translation", fake=x, real=y, cfg={})
    assert get_metric("l1").fn(bare) == {} and get_metric("cycle").fn(bare) == {}


# --- sliding window -------------------------------------------------------------------------------

def test_window_starts_cover_the_image_and_end_flush():
    assert window_starts(16, 16, 8) == [0]
    assert window_starts(40, 16, 8) == [0, 8, 16, 24]
    assert window_starts(37, 16, 8) == [0, 8, 16, 21]
    assert window_starts(10, 16, 8) == [0]
    w = pyramid_weights(4)
    assert w.min() > 0 and torch.equal(w, w.T) and float(w[1, 1]) == 4.0


@pytest.mark.parametrize("h, w, overlap", [(37, 23, 0.5), (48, 32, 0.0), (16, 16, 0.5), (10, 13, 0.5), (5, 40, 0.75)])
def test_sliding_window_of_a_pointwise_translator_is_exact(h, w, overlap):
    x = torch.rand(2, h, w) * 2 - 1
    out = sliding_window(lambda t: 0.5 * t - 0.1, x, size=16, overlap=overlap)
    assert out.shape == (2, h, w)
    torch.testing.assert_close(out, 0.5 * x - 0.1, rtol=0, atol=1e-6)


def test_sliding_window_blends_overlapping_windows():
    calls = []

    def translator(t: torch.Tensor) -> torch.Tensor:  # each window gets its own constant
        calls.append(len(t))
        return torch.arange(len(t), dtype=torch.float32).view(-1, 1, 1, 1).expand_as(t)

    out = sliding_window(translator, torch.zeros(1, 16, 24), size=16, overlap=0.5)
    assert calls == [2]  # windows at x = 0 and x = 8, one batch
    assert float(out[0, 8, 0]) == 0.0 and float(out[0, 8, 23]) == 1.0  # covered by one window only
    middle = out[0, :, 8:16]  # covered by both: a weighted mean, strictly between
    assert bool(((middle > 0) & (middle < 1)).all())


def test_triptych_panels_show_both_directions_when_present():
    imgs = np.zeros((10, 1, 16, 16), np.uint8)
    panels = triptych_panels({"src": imgs, "x": imgs, "target": imgs}, n=4)
    assert [d for d, _ in panels] == ["A -> B"] and [r for r, _ in panels[0][1]] == ["input A", "output G(A)", "target B"]
    assert panels[0][1][0][1].shape == (18, 69)  # 4 images of 16 px, 1 px spacing
    both = triptych_panels({"src": imgs, "x": imgs, "rec": imgs, "src_b": imgs, "x_b": imgs, "rec_b": imgs}, n=4)
    assert [d for d, _ in both] == ["A -> B", "B -> A"] and len(both[1][1]) == 3


def test_pixel_metrics_do_not_depend_on_the_memory_chunks(monkeypatch):
    import gangrid.metrics.translation as metrics

    x, y = noisy_pairs((7, 3, 16, 16), noise=80, seed=1)
    whole = (ssim(x, y), psnr(x, y), l1_error(x, y))
    monkeypatch.setattr(metrics, "CHUNK_BYTES", 2 * 3 * 16 * 16 * 8)  # two images per chunk
    assert len(metrics.chunks(x)) == 4
    assert (ssim(x, y), psnr(x, y), l1_error(x, y)) == pytest.approx(whole, rel=1e-12)
