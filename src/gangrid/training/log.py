"""Per-step training logs through DVCLive (`results/<study>/<run>/train_log/`)."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path, PurePosixPath
from typing import Any

from gangrid.errors import UserError
from gangrid.io import untracked, write_text


def truncate_logs(log_dir: Path, from_step: int) -> None:
    """Drop rows with step > from_step from DVCLive's metric TSVs (before resuming from a checkpoint at that step).

    The row of step `from_step` itself stays: the loop logs a step before it
    checkpoints it, so that row belongs to the state being resumed. Rows after
    it were written by the killed process past its last checkpoint and are
    logged again by the resumed run.
    """
    for tsv in (log_dir / TABLES).rglob("*.tsv"):
        with open(tsv, newline="") as fh:
            rows = list(csv.reader(fh, delimiter="\t"))
        if not rows or "step" not in rows[0]:
            continue
        header, body = rows[0], rows[1:]
        step_col = header.index("step")
        kept = [r for r in body if len(r) == len(header) and _step(r[step_col]) is not None and _step(r[step_col]) <= from_step]
        out = io.StringIO()
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(kept)
        with untracked():  # resumable state: it survives a failing stage
            write_text(tsv, out.getvalue())


def _step(text: str) -> int | None:
    """The step of a TSV row, or None for a row cut short by a killed writer."""
    try:
        return int(text)
    except ValueError:
        return None


TABLES = Path("plots") / "metrics"  # DVCLive's per-metric TSVs, under the log folder


def read_series(tsv: Path) -> list[tuple[int, float]]:
    """The (step, value) rows of one DVCLive metric TSV (columns timestamp, step, <name>); [] when absent."""
    if not tsv.exists():
        return []
    with open(tsv, newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    if not rows or "step" not in rows[0]:
        return []
    header, step_col = rows[0], rows[0].index("step")
    out = []
    for r in rows[1:]:
        if len(r) == len(header) and _step(r[step_col]) is not None:
            try:
                out.append((int(r[step_col]), float(r[-1])))
            except ValueError:
                continue
    return out


def _safe_table(rel: str) -> bool:
    """A saved table name that stays under plots/metrics/ (it comes from a checkpoint file)."""
    path = PurePosixPath(rel)
    return bool(rel) and not path.is_absolute() and ".." not in path.parts and path.suffix == ".tsv"


def restore_logs(log_dir: Path, saved: dict[str, str]) -> None:
    """Make the metric TSVs exactly the `saved` ones (a resume checkpoint's copy of the log)."""
    root = log_dir / TABLES
    if root.exists():
        for tsv in root.rglob("*.tsv"):
            if tsv.relative_to(root).as_posix() not in saved:
                tsv.unlink()
    with untracked():  # resumable state: it survives a failing stage
        for rel, text in saved.items():
            if _safe_table(rel) and isinstance(text, str):
                write_text(root / rel, text)


class TrainLog:
    """A thin DVCLive wrapper: `log(step, metrics)` writes one row per metric; `close()` flushes.

    A run resumed at step N gets back its log as it was at N: from `saved`
    (the tables stored in the resume checkpoint, so the log survives even an
    orchestrator that deleted the folder) or, without them, by truncating the
    tables on disk after step N.
    """

    def __init__(self, log_dir: Path, resume_step: int = 0, saved: dict[str, str] | None = None) -> None:
        logging.getLogger("dvclive").setLevel(logging.WARNING)
        import dvclive.live
        from dvclive import Live

        # A run only writes DVCLive's files (read by `dvc plots`); it must never open, init or
        # commit to the DVC/Git repo itself (DVCLive would `dvc init` outside a repo and make
        # concurrent Snakemake jobs contend for it). Without a repo handle DVCLive does neither.
        dvclive.live.get_dvc_repo = lambda: None
        # Nor does it need an experiment name: DVCLive's default draws one through DVC's experiment
        # modules (0.2 s of imports per run).
        dvclive.live.get_exp_name = lambda name, scm, baseline_rev: name or "gangrid"

        self.log_dir = log_dir
        if resume_step > 0 and saved is not None:
            restore_logs(log_dir, saved)
        elif resume_step > 0 and log_dir.exists():
            truncate_logs(log_dir, resume_step)
        resume = resume_step > 0 and log_dir.exists()
        self.live = Live(dir=str(log_dir), resume=resume, dvcyaml=None, save_dvc_exp=False, report=None)

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        """Record `metrics` at `step` and flush to disk (a failed write is a UserError naming the log)."""
        try:
            self.live.step = step
            for name, value in metrics.items():
                self.live.log_metric(name, value)
            self.live.sync()
        except OSError as exc:
            where = Path(exc.filename or self.log_dir)
            if where.is_absolute() and where.is_relative_to(Path.cwd()):
                where = where.relative_to(Path.cwd())
            raise UserError(f"cannot write {where.as_posix()}: {exc.strerror or exc}") from None

    def tables(self) -> dict[str, str]:
        """The metric TSVs logged so far, {path under plots/metrics: text} (saved with resume checkpoints)."""
        root = self.log_dir / TABLES
        if not root.exists():
            return {}
        return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*.tsv"))}

    def series(self, name: str) -> list[tuple[int, float]]:
        """The (step, value) rows of metric `name` logged so far (e.g. a resumed run's tracked metric)."""
        return read_series(self.log_dir / TABLES / f"{name}.tsv")

    def close(self) -> None:
        """Write the summary and release DVCLive."""
        self.live.end()
