"""Scoring translation runs, and the real-data reference row of image-to-image sets.

A run's metrics.json holds, for the A -> B direction (names without suffix) and, for
CycleGAN, the B -> A direction (suffix `_ba`):
  l1, psnr, ssim               translations vs their paired targets (paired sets)
  fid<N>_clf, kid<N>_clf, ...  translations vs held-out target-domain test images, on the
                               domain classifier's features (`eval.metrics` picks among fid,
                               fid_inf, kid, prdc); N = the number of translated test inputs.
                               `_incep` twins with eval.extractor: inception (weights present).
                               The classifier of a paired set knows domain B only, so B -> A
                               has no `_clf` metrics there.
  acc_target_clf               target-class accuracy under the classifier
  cycle                        cycle-consistency error (CycleGAN)
The real-data row (results/real/<set>/metrics.json) compares N training images of the
target domain with the same held-out images (the FID/KID floor) and holds the
classifier's target-class accuracy on the held-out images (the accuracy ceiling).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from gangrid.artifacts import classifier_path
from gangrid.config import RunSpec
from gangrid.data.store import load_translation, read_manifest
from gangrid.kinds.translation.classifier import classifier_domains
from gangrid.kinds.translation.data import pick, test_set
from gangrid.metrics import get_metric, rounded
from gangrid.metrics.extractors import Extractor, classifier_extractor
from gangrid.metrics.inception import configured_inception
from gangrid.metrics.translation import TRANSLATION_METRICS, TranslationContext, with_suffix

FEATURE_METRICS = ("fid", "fid_inf", "kid", "prdc")
DIRECTION_SUFFIX = {"ab": "", "ba": "_ba"}
DOMAIN_OF = {"ab": "b", "ba": "a"}  # the domain a direction translates into


def feature_metrics(ev: dict[str, Any]) -> list[str]:
    """The classifier-feature metrics of `eval.metrics` that apply to translations."""
    return [m for m in ev.get("metrics", ["fid", "kid"]) if m in FEATURE_METRICS]


def target_classes(kind: str, meta: dict[str, Any], direction: str) -> tuple[int, ...] | None:
    """Class-domain sets: the classes of the domain `direction` translates into."""
    if kind != "unpaired":
        return None
    classes = meta.get("classes_b" if direction == "ab" else "classes_a")
    return tuple(int(c) for c in classes) if classes else None


def feature_extractors(params: dict[str, Any], dataset: str, notes: dict[str, Any]) -> list[tuple[str, Extractor]]:
    """(name, extractor) pairs: the set's classifier ("clf", when it has one) and Inception ("incep", with
    eval.extractor: inception and its weights present); `notes` receives the protocol's extractors / unavailable."""
    ev = params["eval"]
    out: list[tuple[str, Extractor]] = []
    clf = classifier_extractor(dataset)
    if clf is not None:
        domains = classifier_domains(read_manifest(dataset)["kind"])
        out.append(("clf", clf))
        notes["extractors"]["clf"] = (f"domain classifier {classifier_path(dataset).as_posix()} (trained on domain(s) "
                                      f"{', '.join(d.upper() for d in domains)}): penultimate features, softmax")
    if str(ev.get("extractor", "classifier")) == "inception":
        inception, note = configured_inception(ev)
        if inception is None:
            print(f"gangrid: {note}", file=sys.stderr)
            notes.setdefault("unavailable", {})["incep"] = note
        else:
            out.append(("incep", inception))
            notes["extractors"]["incep"] = note
    return out


def _context(ev: dict[str, Any], fake: np.ndarray, real: np.ndarray, extractor: Extractor | None = None,
             name: str = "clf", **extra: Any) -> TranslationContext:
    return TranslationContext(kind="translation", fake=fake, real=real, cfg=ev, extractor=extractor, extractor_name=name,
                              n=len(fake), **extra)


def feature_values(ctx: TranslationContext, names: list[str], with_accuracy: bool) -> dict[str, float]:
    """Feature metrics of a context (called directly: they are registered for image data), and its target accuracy."""
    values: dict[str, float] = {}
    for name in names + (["acc_target"] if with_accuracy else []):
        metric = get_metric(name)
        values.update(ctx.names(metric, metric.fn(ctx)))
    return values


def _dataset_protocol(ev: dict[str, Any], dataset: str) -> tuple[str, dict[str, Any], list[str]]:
    """(kind, meta) of an image-to-image set's manifest and the feature metrics the protocol asks for."""
    manifest = read_manifest(dataset)
    return manifest["kind"], manifest.get("meta", {}), feature_metrics(ev)


def _protocol_head(ev: dict[str, Any], metrics: list[str]) -> dict[str, Any]:
    """The protocol keys shared by translation runs and the real-data row."""
    return {"reference": "held-out test split of the target domain (at most N images)",
            "extractor": str(ev.get("extractor", "classifier")), "extractors": {}, "n": int(ev["n_samples"]),
            "metrics": metrics}


def evaluate_translations(params: dict[str, Any], dataset: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """All metrics of a translation run's samples against the held-out test images, with the protocol."""
    ev = params["eval"]
    kind, meta, names = _dataset_protocol(ev, dataset)
    proto: dict[str, Any] = {
        **_protocol_head(ev, names + list(TRANSLATION_METRICS)),
        "inputs": "test split of the source domain (at most N images, fixed seed); paired sets: their pairs are the targets",
        "pixel_scale": "l1, cycle and PSNR on pixel values in [0, 1]; SSIM: Gaussian window sigma 1.5, K1 0.01, K2 0.03",
        "directions": ["ab"],
    }
    extractors = feature_extractors(params, dataset, proto)
    domains = classifier_domains(kind)
    t = test_set(params, dataset)
    values: dict[str, float] = {}
    directions = [("ab", "x", "src", "target", "rec", arrays.get("y"), t.b)]
    if "x_b" in arrays:
        directions.append(("ba", "x_b", "src_b", "target_b", "rec_b", arrays.get("y_b"), t.a))
        proto["directions"].append("ba")
    for direction, kx, ksrc, ktarget, krec, labels, reference in directions:
        fake, suffix = arrays[kx], DIRECTION_SUFFIX[direction]
        vals: dict[str, float] = {}
        pixels = _context(ev, fake, reference, src=arrays.get(ksrc), target=arrays.get(ktarget), rec=arrays.get(krec))
        for name in TRANSLATION_METRICS:
            metric = get_metric(name)
            vals.update(pixels.names(metric, metric.fn(pixels)))
        for ename, extractor in extractors:
            if ename == "clf" and DOMAIN_OF[direction] not in domains:
                proto.setdefault("unavailable", {})[f"clf{suffix}"] = \
                    "classifier metrics of B -> A: the classifier of a paired set knows domain B only"
                continue
            ctx = _context(ev, fake, reference, extractor, ename, target_labels=labels if kind == "paired" else None,
                           target_classes=target_classes(kind, meta, direction))
            vals.update(feature_values(ctx, names, with_accuracy=ename == "clf"))
        values.update({with_suffix(k, suffix): v for k, v in vals.items()})
        proto[f"n_fake_{direction}"], proto[f"n_real_{direction}"] = int(len(fake)), int(len(reference))
        if direction == "ab":  # the feature metrics' own protocol fields (KID subsets, k), as of the A -> B direction
            for name in names:
                if get_metric(name).protocol is not None:
                    proto.update(get_metric(name).protocol(ev, pixels))
    return {"status": "finished", **rounded(values), "protocol": proto}


def evaluate_translation_run(params: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
    """metrics.json of a finished translation run."""
    with np.load(spec.files.samples) as f:
        arrays = {k: f[k] for k in f.files if k != "status"}
    return evaluate_translations(params, spec.dataset, arrays)


def evaluate_translation_real(params: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The reference row of an image-to-image set: target-domain training images scored like translations."""
    ev = params["eval"]
    kind, meta, names = _dataset_protocol(ev, dataset)
    proto: dict[str, Any] = {
        **_protocol_head(ev, names + ["acc_target"]),
        "generated": "target-domain train split images (the real-data reference row); acc_target: the held-out images",
    }
    extractors = feature_extractors(params, dataset, proto)
    domains = classifier_domains(kind)
    t = test_set(params, dataset)
    train = load_translation(dataset, "train")
    seed = int(ev.get("sample_seed", 0))
    values: dict[str, float] = {}
    directions = [("ab", t.b, len(t.a), train.b, t.y_b)]
    if kind == "unpaired":  # only unpaired sets are translated both ways by every model
        directions.append(("ba", t.a, len(t.b), train.a, t.y_a))
    for direction, reference, n, pool, labels in directions:
        fake = np.asarray(pool[pick(len(pool), n, seed)])
        proto[f"n_fake_{direction}"], proto[f"n_real_{direction}"] = int(len(fake)), int(len(reference))
        vals: dict[str, float] = {}
        for ename, extractor in extractors:
            if ename == "clf" and DOMAIN_OF[direction] not in domains:
                continue
            vals.update(feature_values(_context(ev, fake, reference, extractor, ename), names, with_accuracy=False))
            if ename == "clf":  # accuracy ceiling: the classifier on the held-out target-domain images themselves
                acc = _context(ev, reference, reference, extractor, ename,
                               target_labels=labels if kind == "paired" else None,
                               target_classes=target_classes(kind, meta, direction))
                vals.update(feature_values(acc, [], with_accuracy=True))
        values.update({with_suffix(k, DIRECTION_SUFFIX[direction]): v for k, v in vals.items()})
    return {"status": "finished", **rounded(values), "protocol": proto}
