"""Scoring super-resolution outputs: a run's SR outputs, and the bicubic upsampler's reference row.

Test inputs: a fixed subset of min(eval.n_samples, test size) HR test images (seed eval.sample_seed + 1)
and their LR downsamplings. Values: sr_psnr and sr_ssim against the HR originals (gangrid.metrics.superres)
and the image metrics of `eval.metrics` (FID, KID, PRDC, ... on the domain classifier's features) of the
outputs against the same HR images, so a name carries n = the number of test images (`fid359_clf`).
The reference row scores the bicubic upsampling of the same LR inputs identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gangrid.artifacts import classifier_path
from gangrid.config import RunSpec
from gangrid.data.store import load_split, read_manifest
from gangrid.data.superres import bicubic_upsample, downsample
from gangrid.metrics import EvalContext, compute_metrics, get_metric, protocol_fields, rounded
from gangrid.metrics.extractors import classifier_extractor
from gangrid.metrics.superres import SR_METRICS, SuperResContext

DEFAULT_METRICS = ["fid", "kid", "prdc"]


@dataclass
class SrTestSet:
    """The fixed test pairs: HR images, their LR inputs, labels (or None), the factor."""

    hr: np.ndarray
    lr: np.ndarray
    y: np.ndarray | None
    factor: int


def subset(n_available: int, n: int, seed: int) -> np.ndarray:
    """n sorted indices of range(n_available), a fixed-seed subset (all when n >= n_available)."""
    if n >= n_available:
        return np.arange(n_available)
    return np.sort(np.random.default_rng(seed).choice(n_available, n, replace=False))


def sr_test_set(dataset: str, n: int, seed: int) -> SrTestSet:
    """min(n, test size) HR test images (fixed seed) with their bicubic-downsampled LR inputs."""
    split = load_split(dataset, "test")
    factor = int(read_manifest(dataset)["meta"]["factor"])
    idx = subset(len(split.x), n, seed)
    hr = np.asarray(split.x[idx])
    return SrTestSet(hr, downsample(hr, factor), None if split.y is None else np.asarray(split.y[idx]), factor)


def eval_test_set(params: dict[str, Any], dataset: str) -> SrTestSet:
    """The evaluate stage's test pairs: n = eval.n_samples, seed eval.sample_seed + 1."""
    ev = params["eval"]
    return sr_test_set(dataset, int(ev["n_samples"]), int(ev.get("sample_seed", 0)) + 1)


def feature_metrics(names: list[str]) -> list[str]:
    """The requested metrics that apply to images (FID, KID, PRDC, IS, class coverage)."""
    return [m for m in names if "image" in get_metric(m).kinds]


def score(ev: dict[str, Any], dataset: str, sr: np.ndarray, hr: np.ndarray, names: list[str],
          extractor: Any = None) -> tuple[dict[str, float], EvalContext | None]:
    """sr_psnr, sr_ssim and the image metrics `names` of SR outputs against their HR originals (rounded)."""
    manifest = read_manifest(dataset)
    meta = manifest.get("meta", {})
    pixels = SuperResContext(kind="superres", fake=sr, real=hr, cfg=ev, target=hr, n=len(sr))
    values: dict[str, float] = {}
    for name in SR_METRICS:
        metric = get_metric(name)
        values.update(pixels.names(metric, metric.fn(pixels)))
    ctx = None
    extractor = extractor if extractor is not None else classifier_extractor(dataset)
    if extractor is not None and names:
        ctx = EvalContext(kind="image", fake=sr, real=hr, cfg=ev, extractor=extractor, extractor_name="clf", meta=meta,
                          n_classes=int(meta.get("classes", 0)), n=len(sr))
        values.update(compute_metrics(ctx, names))
    return rounded(values), ctx


def protocol(ev: dict[str, Any], dataset: str, t: SrTestSet, names: list[str], ctx: EvalContext | None) -> dict[str, Any]:
    """The protocol block: test pairs, factor, downsampling, extractor and the metrics' own fields."""
    return {
        "reference": "the HR test images the inputs were downsampled from (a fixed subset of at most N)",
        "inputs": f"bicubic x{t.factor} downsampling of the HR images (antialiased, rounded to uint8)",
        "factor": t.factor, "n": int(len(t.hr)), "n_requested": int(ev["n_samples"]),
        "pixel_scale": "sr_psnr and sr_ssim on pixel values in [0, 1]; SSIM: Gaussian window sigma 1.5, K1 0.01, K2 0.03",
        "extractor": "classifier", "extractors": {"clf": f"domain classifier {classifier_path(dataset).as_posix()}: "
                                                        f"penultimate features, softmax"},
        "metrics": list(SR_METRICS) + names,
        **(protocol_fields(ev, ctx, names) if ctx is not None else {}),
    }


def evaluate_superres_run(params: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
    """metrics.json of a finished SR run: its SR outputs of the test inputs scored against the HR originals."""
    ev = params["eval"]
    with np.load(spec.files.samples) as f:
        sr, hr = f["x"], f["hr"]
    names = feature_metrics(list(ev.get("metrics", DEFAULT_METRICS)))
    values, ctx = score(ev, spec.dataset, sr, hr, names)
    t = eval_test_set(params, spec.dataset)
    return {"status": "finished", **values, "protocol": protocol(ev, spec.dataset, t, names, ctx)}


def evaluate_bicubic(params: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The reference row of a superres set: the bicubic upsampling of the same test inputs, scored like a run."""
    ev = params["eval"]
    t = eval_test_set(params, dataset)
    names = feature_metrics(list(ev.get("metrics", DEFAULT_METRICS)))
    values, ctx = score(ev, dataset, bicubic_upsample(t.lr, t.factor), t.hr, names)
    proto = protocol(ev, dataset, t, names, ctx)
    proto["generated"] = "bicubic upsampling of the LR test inputs (the reference row)"
    return {"status": "finished", **values, "protocol": proto,
            "reference": {"label": f"bicubic x{t.factor}",
                          "about": f"the bicubic x{t.factor} upsampling of the same LR test inputs, scored like a run"}}
