"""The `evaluate` and `evaluate-real` stages: metrics.json of a run, and the real-data reference row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gangrid.config import RESULTS_DIR, RunSpec
from gangrid.data.store import load_split, read_manifest
from gangrid.io import read_json, write_json
from gangrid.metrics import EvalContext, compute_metrics
from gangrid.metrics.extractors import classifier_extractor

DEFAULT_METRICS = ["fid", "kid", "mixture_modes", "class_modes"]


def real_metrics_path(dataset: str) -> Path:
    """`results/real/<dataset>/metrics.json`."""
    return Path(RESULTS_DIR) / "real" / dataset / "metrics.json"


def rounded(values: dict[str, float], digits: int = 6) -> dict[str, float]:
    """Metric values rounded for stable, readable metrics.json files."""
    return {k: float(np.round(v, digits)) for k, v in values.items()}


def evaluate_samples(params: dict[str, Any], dataset: str, fake: np.ndarray, real: np.ndarray) -> dict[str, Any]:
    """All configured metrics of `fake` against the held-out `real` set, with the protocol."""
    ev = params["eval"]
    manifest = read_manifest(dataset)
    ctx = EvalContext(
        kind=manifest["kind"],
        fake=fake,
        real=real,
        cfg=ev,
        extractor=classifier_extractor(dataset),
        extractor_name="clf",
        meta=manifest.get("meta", {}),
        n_classes=int(manifest.get("meta", {}).get("classes", 0)),
    )
    values = rounded(compute_metrics(ctx, list(ev.get("metrics", DEFAULT_METRICS))))
    protocol = {"n_fake": int(len(fake)), "n_real": int(len(real)), "extractor": "classifier", "reference": "test split"}
    return {"status": "finished", **values, "protocol": protocol}


def evaluate_run(params: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
    """metrics.json of one run (status only, for a diverged run)."""
    run_dir = spec.dir
    status = read_json(run_dir / "status.json")
    if status["status"] != "finished":
        out: dict[str, Any] = {"status": status["status"], "step": status["step"]}
    else:
        with np.load(run_dir / "samples.npz") as f:
            fake = f["x"]
        real = load_split(spec.dataset, "test").x
        out = evaluate_samples(params, spec.dataset, fake, real)
    write_json(run_dir / "metrics.json", out)
    return out


def evaluate_real(params: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The reference row: N training images (as if generated) against the held-out test split."""
    n = int(params["eval"]["n_samples"])
    train = load_split(dataset, "train").x
    rng = np.random.default_rng(int(params["eval"].get("sample_seed", 0)))
    idx = np.sort(rng.choice(len(train), min(n, len(train)), replace=False))
    out = evaluate_samples(params, dataset, np.asarray(train[idx]), load_split(dataset, "test").x)
    out["protocol"]["reference"] = "train split vs test split"
    write_json(real_metrics_path(dataset), out)
    return out
