"""Wall time of every pipeline stage, for the report's appendix.

Each `gangrid <stage>` invocation that succeeds writes
`logs/timings/<stage>/<target>.json` ({stage, target, seconds, finished}),
replacing the record of its previous run. One file per invocation (not a shared
log) keeps parallel Snakemake jobs and cluster nodes from writing into the same
file. The files are not pipeline outputs: no run depends on them, and `logs/` is
not versioned. Snakemake's own `benchmarks/` files are read too when present.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from gangrid.io import read_json, write_json

TIMINGS_DIR = Path("logs/timings")
BENCHMARKS_DIR = Path("benchmarks")
# the stages of the pipeline, in pipeline order (the appendix lists them so)
STAGES = ("download", "preprocess", "train-classifier", "fetch-inception", "evaluate-real", "train", "sample", "evaluate",
          "aggregate", "plots", "report")


def stage_target(args: Any) -> str:
    """The target of a stage invocation as a file-name-safe string: `<study>__<run>`, `<dataset>` or `all`."""
    parts = [str(getattr(args, name)) for name in ("study", "run", "dataset") if isinstance(getattr(args, name, None), str)]
    return "__".join(parts) or "all"


def record(stage: str, target: str, seconds: float, root: Path = TIMINGS_DIR) -> Path:
    """Write the wall time of one stage invocation; returns the record's path."""
    path = root / stage / f"{target}.json"
    write_json(path, {"stage": stage, "target": target, "seconds": round(float(seconds), 3),
                      "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return path


def read_records(root: Path = TIMINGS_DIR, benchmarks: Path = BENCHMARKS_DIR) -> list[dict[str, Any]]:
    """Every stage-time record: gangrid's own, plus Snakemake benchmark files (`s` column) not already covered."""
    records = [read_json(p) for p in sorted(root.glob("*/*.json"))] if root.exists() else []
    seen = {(r["stage"], r["target"]) for r in records}
    if benchmarks.exists():
        for path in sorted(benchmarks.rglob("*.tsv")):
            rel = path.relative_to(benchmarks).with_suffix("")
            stage, target = rel.parts[0].replace("_", "-"), "__".join(rel.parts[1:]) or "all"
            if (stage, target) in seen:
                continue
            with path.open() as fh:
                rows = list(csv.DictReader(fh, delimiter="\t"))
            if rows and rows[-1].get("s"):
                records.append({"stage": stage, "target": target, "seconds": float(rows[-1]["s"]), "finished": ""})
    return records


def summary(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per stage, in pipeline order: invocations, total / mean / max seconds, and the slowest target."""
    by_stage: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_stage.setdefault(r["stage"], []).append(r)
    order = {s: i for i, s in enumerate(STAGES)}
    rows = []
    for stage in sorted(by_stage, key=lambda s: (order.get(s, len(order)), s)):
        recs = by_stage[stage]
        secs = [float(r["seconds"]) for r in recs]
        slowest = max(recs, key=lambda r: float(r["seconds"]))
        rows.append({"stage": stage, "n": len(recs), "total": sum(secs), "mean": sum(secs) / len(secs),
                     "max": max(secs), "slowest": slowest["target"]})
    return rows
