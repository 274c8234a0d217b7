"""Scoring GAN samples: every configured metric of a run's samples, and the real-data reference row.

Reference: the held-out test split (at most N = eval.n_samples samples, fixed seed). Both sides
have the same size: n = min(N, reference size) generated samples (the first n of the fixed-noise
sample set) against n reference samples, and metric names carry that n (`fid359_clf` on digits,
whose test split has 359 images). Features: the dataset's domain classifier (`clf`; for 2-D
mixtures the points themselves) and, with `eval.extractor: inception`, Inception-V3 (`incep`)
when its weight file is present.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from gangrid.artifacts import classifier_path
from gangrid.config import RunSpec
from gangrid.data.store import load_split, read_manifest
from gangrid.errors import UserError
from gangrid.metrics import EvalContext, compute_metrics, protocol_fields, rounded
from gangrid.metrics.extractors import classifier_extractor
from gangrid.metrics.inception import configured_inception

DEFAULT_METRICS = ["fid", "kid", "prdc", "is", "mixture_modes", "class_modes"]


def subsample(x: np.ndarray, n: int, seed: int) -> np.ndarray:
    """At most n rows of x, a fixed-seed random subset kept in original order."""
    if len(x) <= n:
        return np.asarray(x)
    idx = np.sort(np.random.default_rng(seed).choice(len(x), n, replace=False))
    return np.asarray(x[idx])


def reference_set(params: dict[str, Any], dataset: str) -> np.ndarray:
    """The held-out reference: min(N, test size) test-split samples (N = eval.n_samples, fixed seed)."""
    ev = params["eval"]
    return subsample(load_split(dataset, "test").x, int(ev["n_samples"]), int(ev.get("sample_seed", 0)) + 1)


def protocol(ev: dict[str, Any], ctx: EvalContext) -> dict[str, Any]:
    """The protocol block of metrics.json: what was compared, with which settings (each metric adds its own)."""
    names = list(ev.get("metrics", DEFAULT_METRICS))
    return {
        "reference": "test split (at most N samples); generated samples cut to the reference's size",
        "extractor": str(ev.get("extractor", "classifier")),
        "n_requested": int(ev["n_samples"]),
        "n": int(ctx.n),
        "n_fake": int(len(ctx.fake)),
        "n_real": int(len(ctx.real)),
        "metrics": names,
        **protocol_fields(ev, ctx, names),
    }


def equal_sizes(fake: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fake, real) cut to the same size: the first min(len(fake), len(real)) rows of each."""
    n = min(len(fake), len(real))
    return np.asarray(fake[:n]), np.asarray(real[:n])


def evaluate_samples(params: dict[str, Any], dataset: str, fake: np.ndarray, real: np.ndarray) -> dict[str, Any]:
    """All configured metrics of `fake` against the held-out `real` set, with the protocol (both cut to one size)."""
    ev = params["eval"]
    fake, real = equal_sizes(fake, real)
    manifest = read_manifest(dataset)
    kind = manifest["kind"]
    base = EvalContext(kind=kind, fake=fake, real=real, cfg=ev, extractor=classifier_extractor(dataset),
                       extractor_name="clf", meta=manifest.get("meta", {}),
                       n_classes=int(manifest.get("meta", {}).get("classes", 0)), n=len(fake))
    proto = protocol(ev, base)
    proto["extractors"] = {}
    contexts = []
    if base.extractor is not None:
        contexts.append(base)
        proto["extractors"]["clf"] = (
            "the 2-D points themselves (nearest-centre classifier of the mixture)" if kind == "points"
            else f"domain classifier {classifier_path(dataset).as_posix()}: penultimate features, softmax"
        )
    if str(ev.get("extractor", "classifier")) == "inception" and kind == "image":
        extractor, note = configured_inception(ev)
        if extractor is None:
            print(f"gangrid: {note}", file=sys.stderr)
            proto["unavailable"] = {"incep": note}
        else:
            contexts.append(EvalContext(kind=kind, fake=fake, real=real, cfg=ev, extractor=extractor, extractor_name="incep",
                                        meta=base.meta, n_classes=base.n_classes, n=base.n))
            proto["extractors"]["incep"] = note
    if not contexts:
        raise UserError(f"no feature extractor for '{dataset}': it has no labels for a classifier and "
                        f"{proto['unavailable']['incep'][0].lower()}{proto['unavailable']['incep'][1:]}")
    values: dict[str, float] = {}
    for ctx in contexts:
        values.update(compute_metrics(ctx, proto["metrics"]))
    return {"status": "finished", **rounded(values), "protocol": proto}


def architecture_metrics(spec: RunSpec) -> dict[str, float]:
    """The metrics the run's architecture family computes from its trained networks ({} for most families)."""
    from gangrid.io import read_json
    from gangrid.kinds import load_finished_run
    from gangrid.nets import get_family
    from gangrid.runtime import pick_device

    if not spec.files.config.exists():  # a sample set that no training run wrote
        return {}
    config = read_json(spec.files.config)
    family = get_family(config["arch"]["family"], "archs.family")
    if family.run_metrics is None:
        return {}
    trainer = load_finished_run(spec.files.dir, pick_device(config["train"].get("device", "auto")))
    return dict(family.run_metrics(trainer))


def evaluate_run(params: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
    """metrics.json of a finished GAN run: its samples scored, plus its family's own metrics."""
    with np.load(spec.files.samples) as f:
        fake = f["x"]
    out = evaluate_samples(params, spec.dataset, fake, reference_set(params, spec.dataset))
    extra = architecture_metrics(spec)
    if extra:
        out.update(rounded(extra))
        out["protocol"]["architecture_metrics"] = sorted(extra)
    return out


def evaluate_real(params: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The reference row: training samples (as if generated) against the same held-out reference as the runs,
    at the runs' size n = min(N, reference size)."""
    ev = params["eval"]
    reference = reference_set(params, dataset)
    train = subsample(load_split(dataset, "train").x, len(reference), int(ev.get("sample_seed", 0)))
    out = evaluate_samples(params, dataset, train, reference)
    out["protocol"]["generated"] = "train split samples (the real-data reference row)"
    return out
