"""The `evaluate` stage of translation runs and the real-data reference row of image-to-image sets.

A run's metrics.json holds, for the A -> B direction (names without suffix) and, for
CycleGAN on sets whose classifier knows domain A, the B -> A direction (suffix `_ba`):
  l1, psnr, ssim               translations vs their paired targets (paired sets)
  fid<N>_clf, kid<N>_clf, ...  translations vs held-out target-domain test images, on the
                               domain classifier's features (`eval.metrics` picks among fid,
                               fid_inf, kid, prdc); N = the number of translated test inputs
  acc_target_clf               target-class accuracy under the classifier
  cycle                        cycle-consistency error (CycleGAN)
The real-data row (results/real/<set>/metrics.json) compares N training images of the
target domain with the same held-out images (the FID/KID floor) and holds the
classifier's target-class accuracy on the held-out images (the accuracy ceiling).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gangrid.config import RunSpec
from gangrid.data.store import load_translation, read_manifest
from gangrid.io import read_json, write_json
from gangrid.metrics import get_metric
from gangrid.metrics.extractors import Extractor, classifier_extractor, classifier_path
from gangrid.translation.classifier import classifier_domains
from gangrid.translation.data import pick, test_set
from gangrid.translation.metrics import TRANSLATION_METRICS, TranslationContext, with_suffix

FEATURE_METRICS = ("fid", "fid_inf", "kid", "prdc")
SIGNIFICANT_DIGITS = 6
DIRECTION_SUFFIX = {"ab": "", "ba": "_ba"}


def rounded(values: dict[str, float]) -> dict[str, float]:
    """Values rounded to 6 significant digits (stable metrics.json bytes)."""
    return {k: float(f"{float(v):.{SIGNIFICANT_DIGITS}g}") for k, v in values.items()}


def feature_metrics(ev: dict[str, Any]) -> list[str]:
    """The classifier-feature metrics of `eval.metrics` that apply to translations."""
    return [m for m in ev.get("metrics", ["fid", "kid"]) if m in FEATURE_METRICS]


def target_classes(kind: str, meta: dict[str, Any], direction: str) -> tuple[int, ...] | None:
    """Class-domain sets: the classes of the domain `direction` translates into."""
    if kind != "unpaired":
        return None
    classes = meta.get("classes_b" if direction == "ab" else "classes_a")
    return tuple(int(c) for c in classes) if classes else None


def direction_metrics(ctx: TranslationContext, names: list[str], suffix: str) -> dict[str, float]:
    """Feature metrics (called directly: they are registered for image data) and translation metrics of one direction."""
    values: dict[str, float] = {}
    if ctx.extractor is not None:
        for name in names:
            values.update(get_metric(name).fn(ctx))
    for name in TRANSLATION_METRICS:
        values.update(get_metric(name).fn(ctx))
    return {with_suffix(k, suffix): v for k, v in values.items()}


def _context(ev: dict[str, Any], fake: np.ndarray, real: np.ndarray, extractor: Extractor | None, **extra: Any) -> TranslationContext:
    return TranslationContext(kind="translation", fake=fake, real=real, cfg={**ev, "n_samples": len(fake)},
                              extractor=extractor, extractor_name="clf", **extra)


def evaluate_translations(params: dict[str, Any], dataset: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """All metrics of a translation run's samples against the held-out test images, with the protocol."""
    ev = params["eval"]
    manifest = read_manifest(dataset)
    kind, meta = manifest["kind"], manifest.get("meta", {})
    domains = classifier_domains(kind)
    extractor = classifier_extractor(dataset)
    names = feature_metrics(ev)
    t = test_set(params, dataset)
    values: dict[str, float] = {}
    proto: dict[str, Any] = {
        "reference": "held-out test split of the target domain (at most N images)",
        "inputs": "test split of the source domain (at most N images, fixed seed); paired sets: their pairs are the targets",
        "extractor": "classifier",
        "extractors": {"clf": f"domain classifier {classifier_path(dataset).as_posix()} (trained on domain(s) "
                              f"{', '.join(d.upper() for d in domains)}): penultimate features, softmax"},
        "n": int(ev["n_samples"]),
        "metrics": names + list(TRANSLATION_METRICS),
        "pixel_scale": "l1, cycle and PSNR on pixel values in [0, 1]; SSIM: Gaussian window sigma 1.5, K1 0.01, K2 0.03",
        "directions": ["ab"],
    }
    directions = [("ab", "x", "src", "target", "rec", arrays.get("y"), t.b)]
    if "x_b" in arrays:
        directions.append(("ba", "x_b", "src_b", "target_b", "rec_b", arrays.get("y_b"), t.a))
        proto["directions"].append("ba")
    for direction, kx, ksrc, ktarget, krec, labels, reference in directions:
        fake = arrays[kx]
        has_clf = DIRECTION_SUFFIX[direction] == "" or "a" in domains
        ctx = _context(ev, fake, reference, extractor if has_clf else None, src=arrays.get(ksrc),
                       target=arrays.get(ktarget), rec=arrays.get(krec),
                       target_labels=labels if kind == "paired" else None,
                       target_classes=target_classes(kind, meta, direction))
        values.update(direction_metrics(ctx, names, DIRECTION_SUFFIX[direction]))
        proto[f"n_fake_{direction}"], proto[f"n_real_{direction}"] = int(len(fake)), int(len(reference))
        if not has_clf:
            proto["unavailable"] = {"ba": "classifier metrics of B -> A: the classifier of a paired set knows domain B only"}
    if "kid" in names:
        proto["kid_subsets"] = int(ev.get("kid_subsets", 100))
        proto["kid_subset_size"] = int(ev.get("kid_subset_size", 1000))
    return {"status": "finished", **rounded(values), "protocol": proto}


def evaluate_translation_run(params: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
    """metrics.json of one translation run (status only, for a run that did not finish)."""
    run_dir = spec.dir
    status = read_json(run_dir / "status.json")
    if status["status"] != "finished":
        out: dict[str, Any] = {"status": status["status"], "step": status["step"]}
    else:
        with np.load(run_dir / "samples.npz") as f:
            arrays = {k: f[k] for k in f.files if k != "status"}
        out = evaluate_translations(params, spec.dataset, arrays)
    write_json(run_dir / "metrics.json", out)
    return out


def evaluate_translation_real(params: dict[str, Any], dataset: str, path: Any) -> dict[str, Any]:
    """The reference row of an image-to-image set: target-domain training images scored like translations."""
    ev = params["eval"]
    manifest = read_manifest(dataset)
    kind, meta = manifest["kind"], manifest.get("meta", {})
    domains = classifier_domains(kind)
    extractor = classifier_extractor(dataset)
    names = feature_metrics(ev)
    t = test_set(params, dataset)
    train = load_translation(dataset, "train")
    seed = int(ev.get("sample_seed", 0))
    values: dict[str, float] = {}
    for direction, domain, reference, n in (("ab", "b", t.b, len(t.a)), ("ba", "a", t.a, len(t.b))):
        if domain not in domains:
            continue
        pool, labels = (train.b, t.y_b) if domain == "b" else (train.a, t.y_a)
        fake = np.asarray(pool[pick(len(pool), n, seed)])
        ctx = _context(ev, fake, reference, extractor)
        vals = {}
        for name in names:
            vals.update(get_metric(name).fn(ctx))
        # accuracy ceiling: the classifier on the held-out target-domain images themselves
        acc_ctx = _context(ev, reference, reference, extractor, target_labels=labels if kind == "paired" else None,
                           target_classes=target_classes(kind, meta, direction))
        vals.update(get_metric("acc_target").fn(acc_ctx))
        values.update({with_suffix(k, DIRECTION_SUFFIX[direction]): v for k, v in vals.items()})
    out = {"status": "finished", **rounded(values), "protocol": {
        "reference": "held-out test split of the target domain (at most N images)",
        "generated": "target-domain train split images (the real-data reference row); acc_target: the held-out images",
        "extractor": "classifier",
        "extractors": {"clf": f"domain classifier {classifier_path(dataset).as_posix()}: penultimate features, softmax"},
        "n": int(ev["n_samples"]),
        "metrics": names + ["acc_target"],
    }}
    write_json(path, out)
    return out
