"""The `evaluate` and `evaluate-real` stages: metrics.json of a run, and the real-data reference row.

metrics.json holds the metric values (rounded to 6 significant digits), the
run status and a `protocol` block (reference split, N, extractors, k, KID
subsets, ...). It holds no timings or absolute machine state, so the same
inputs give the same bytes whichever orchestrator ran the stage.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from gangrid.config import RESULTS_DIR, RunSpec
from gangrid.data.store import load_split, read_manifest
from gangrid.errors import UserError
from gangrid.io import read_json, write_json
from gangrid.metrics import EvalContext, compute_metrics
from gangrid.metrics.extractors import classifier_extractor, classifier_path

DEFAULT_METRICS = ["fid", "kid", "prdc", "is", "mixture_modes", "class_modes"]
SIGNIFICANT_DIGITS = 6


def real_metrics_path(dataset: str) -> Path:
    """`results/real/<dataset>/metrics.json`."""
    return Path(RESULTS_DIR) / "real" / dataset / "metrics.json"


def rounded(values: dict[str, float], digits: int = SIGNIFICANT_DIGITS) -> dict[str, float]:
    """Metric values rounded to `digits` significant digits, for stable, readable metrics.json files."""
    return {k: float(f"{float(v):.{digits}g}") for k, v in values.items()}


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


def inception_context(ev: dict[str, Any], base: EvalContext) -> tuple[EvalContext | None, str]:
    """An Inception-feature context beside the classifier one, or (None, the one-line reason it is unavailable)."""
    from gangrid.metrics.inception import find_weights, inception_extractor, inception_mode, inception_unavailable
    from gangrid.train import pick_device

    mode = inception_mode(ev)
    weights = find_weights(ev)
    if weights is None:
        return None, inception_unavailable(ev)
    inc = ev.get("inception") or {}
    extractor = inception_extractor(weights, mode, pick_device(str(ev.get("device", "auto"))), int(inc.get("batch_size", 50)))
    ctx = EvalContext(kind=base.kind, fake=base.fake, real=base.real, cfg=ev, extractor=extractor,
                      extractor_name="incep", meta=base.meta, n_classes=base.n_classes)
    return ctx, f"Inception-V3 pool3 features (2048-d) through clean-fid, mode {mode}"


def protocol(ev: dict[str, Any], kind: str, fake: np.ndarray, real: np.ndarray) -> dict[str, Any]:
    """The protocol block of metrics.json: what was compared, with which settings."""
    names = list(ev.get("metrics", DEFAULT_METRICS))
    out: dict[str, Any] = {
        "reference": "test split (at most N samples)",
        "extractor": str(ev.get("extractor", "classifier")),
        "n": int(ev["n_samples"]),
        "n_fake": int(len(fake)),
        "n_real": int(len(real)),
        "metrics": names,
    }
    if "kid" in names:
        out["kid_subsets"] = int(ev.get("kid_subsets", 100))
        out["kid_subset_size"] = int(min(len(fake), len(real), int(ev.get("kid_subset_size", 1000))))
    if "prdc" in names:
        out["pr_k"], out["dc_k"] = int(ev.get("pr_k", 3)), int(ev.get("dc_k", 5))
    if "is" in names and kind == "image":
        out["is_splits"] = int(ev.get("is_splits", 10))
    if "mixture_modes" in names and kind == "points":
        out["hq_std"] = float(ev.get("hq_std", 3.0))
    return out


def evaluate_samples(params: dict[str, Any], dataset: str, fake: np.ndarray, real: np.ndarray) -> dict[str, Any]:
    """All configured metrics of `fake` against the held-out `real` set, with the protocol."""
    ev = params["eval"]
    manifest = read_manifest(dataset)
    kind = manifest["kind"]
    base = EvalContext(kind=kind, fake=fake, real=real, cfg=ev, extractor=classifier_extractor(dataset),
                       extractor_name="clf", meta=manifest.get("meta", {}),
                       n_classes=int(manifest.get("meta", {}).get("classes", 0)))
    proto = protocol(ev, kind, fake, real)
    proto["extractors"] = {}
    contexts = []
    if base.extractor is not None:
        contexts.append(base)
        proto["extractors"]["clf"] = (
            "the 2-D points themselves (nearest-centre classifier of the mixture)" if kind == "points"
            else f"domain classifier {classifier_path(dataset).as_posix()}: penultimate features, softmax"
        )
    if str(ev.get("extractor", "classifier")) == "inception" and kind == "image":
        inc, note = inception_context(ev, base)
        if inc is None:
            print(f"gangrid: {note}", file=sys.stderr)
            proto["unavailable"] = {"incep": note}
        else:
            contexts.append(inc)
            proto["extractors"]["incep"] = note
    if not contexts:
        raise UserError(f"no feature extractor for '{dataset}': it has no labels for a classifier and "
                        f"{proto['unavailable']['incep'][0].lower()}{proto['unavailable']['incep'][1:]}")
    values: dict[str, float] = {}
    for ctx in contexts:
        values.update(compute_metrics(ctx, proto["metrics"]))
    return {"status": "finished", **rounded(values), "protocol": proto}


def architecture_metrics(run_dir: Path) -> dict[str, float]:
    """The metrics the run's architecture family computes from its trained networks ({} for most families,
    and for sample sets that no training run wrote: no config.json)."""
    from gangrid.nets import get_family

    if not (run_dir / "config.json").exists():
        return {}
    arch = read_json(run_dir / "config.json")["arch"]
    family = get_family(arch["family"], "archs.family")
    return dict(family.run_metrics(run_dir)) if family.run_metrics else {}


def evaluate_run(params: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
    """metrics.json of one run (status only, for a diverged run)."""
    if params["studies"][spec.study].get("kind") == "translation":  # translation metrics: gangrid.translation
        from gangrid.translation.evaluate import evaluate_translation_run

        return evaluate_translation_run(params, spec)
    run_dir = spec.dir
    status = read_json(run_dir / "status.json")
    if status["status"] != "finished":
        out: dict[str, Any] = {"status": status["status"], "step": status["step"]}
    else:
        with np.load(run_dir / "samples.npz") as f:
            fake = f["x"]
        out = evaluate_samples(params, spec.dataset, fake, reference_set(params, spec.dataset))
        extra = architecture_metrics(run_dir)
        if extra:
            out.update(rounded(extra))
            out["protocol"]["architecture_metrics"] = sorted(extra)
    write_json(run_dir / "metrics.json", out)
    return out


def evaluate_real(params: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The reference row: N training samples (as if generated) against the same held-out reference as the runs."""
    if read_manifest(dataset)["kind"] in ("paired", "unpaired"):  # image-to-image sets: gangrid.translation
        from gangrid.translation.evaluate import evaluate_translation_real

        return evaluate_translation_real(params, dataset, real_metrics_path(dataset))
    ev = params["eval"]
    train = subsample(load_split(dataset, "train").x, int(ev["n_samples"]), int(ev.get("sample_seed", 0)))
    out = evaluate_samples(params, dataset, train, reference_set(params, dataset))
    out["protocol"]["generated"] = "train split samples (the real-data reference row)"
    write_json(real_metrics_path(dataset), out)
    return out
