"""Per-step training logs through DVCLive (`results/<study>/<run>/train_log/`)."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any


def truncate_logs(log_dir: Path, from_step: int) -> None:
    """Drop rows with step >= from_step from DVCLive's metric TSVs (before resuming at that step)."""
    for tsv in (log_dir / "plots" / "metrics").rglob("*.tsv"):
        with open(tsv, newline="") as fh:
            rows = list(csv.reader(fh, delimiter="\t"))
        if not rows:
            continue
        header, body = rows[0], rows[1:]
        step_col = header.index("step") if "step" in header else None
        if step_col is None:
            continue
        kept = [r for r in body if r and int(r[step_col]) < from_step]
        with open(tsv, "w", newline="") as fh:
            writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
            writer.writerow(header)
            writer.writerows(kept)


class TrainLog:
    """A thin DVCLive wrapper: `log(step, metrics)` writes one row per metric; `close()` flushes."""

    def __init__(self, log_dir: Path, resume_step: int = 0) -> None:
        logging.getLogger("dvclive").setLevel(logging.WARNING)
        import dvclive.live
        from dvclive import Live

        # A run only writes DVCLive's files (read by `dvc plots`); it must never open, init or
        # commit to the DVC/Git repo itself (DVCLive would `dvc init` outside a repo and make
        # concurrent Snakemake jobs contend for it). Without a repo handle DVCLive does neither.
        dvclive.live.get_dvc_repo = lambda: None

        resume = resume_step > 0 and log_dir.exists()
        if resume:
            truncate_logs(log_dir, resume_step)
        self.live = Live(dir=str(log_dir), resume=resume, dvcyaml=None, save_dvc_exp=False, report=None)

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        """Record `metrics` at `step` and flush to disk."""
        self.live.step = step
        for name, value in metrics.items():
            self.live.log_metric(name, value)
        self.live.sync()

    def close(self) -> None:
        """Write the summary and release DVCLive."""
        self.live.end()
