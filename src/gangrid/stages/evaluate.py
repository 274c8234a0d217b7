"""The `evaluate` and `evaluate-real` stages: metrics.json of a run, and the real-data reference row.

metrics.json holds the metric values (rounded to 6 significant digits), the run status and
a `protocol` block (reference split, N, extractors, k, KID subsets, ...), as the run's study
kind computes them. It holds no timings or absolute machine state, so the same inputs give
the same bytes whichever orchestrator ran the stage.
"""

from __future__ import annotations

from typing import Any

from gangrid.artifacts import real_metrics_path
from gangrid.config import RunSpec
from gangrid.data.store import read_manifest
from gangrid.io import read_json, write_json
from gangrid.kinds import get_kind, owner_of, study_kind


def evaluate_run(params: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
    """Write metrics.json of one run (status only, for a run that did not finish), with its convergence verdict."""
    status = read_json(spec.files.status)
    if status["status"] != "finished":
        out: dict[str, Any] = {"status": status["status"], "step": status["step"]}
    else:
        out = get_kind(study_kind(params["studies"][spec.study]), f"studies.{spec.study}.kind").evaluate(params, spec)
    conv = status.get("convergence")
    if isinstance(conv, dict):  # the train stage's verdict (gangrid.training.convergence), without its rule text
        out["convergence"] = {k: v for k, v in conv.items() if k in ("verdict", "metric", "change", "tolerance")}
    write_json(spec.files.metrics, out)
    return out


def evaluate_real(params: dict[str, Any], dataset: str) -> dict[str, Any]:
    """Write the real-data reference row of a dataset (results/real/<dataset>/metrics.json), by its owning kind."""
    out = get_kind(owner_of(read_manifest(dataset)["kind"]).name).evaluate_real(params, dataset)
    write_json(real_metrics_path(dataset), out)
    return out
