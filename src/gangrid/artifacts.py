"""Where the pipeline's artefacts live: one place for every path a stage reads or writes.

A run of study S named R owns `results/S/R/` (checkpoint, config, status, samples,
sample grid, metrics, training log) and, while it trains, its resumable checkpoints
under `checkpoints/S/R/` (outside results/, so that orchestrators, which delete a
stage's outputs before rerunning it, never delete them). A dataset owns its classifier
`models/classifier/<dataset>.{pt,json}` and its real-data row
`results/real/<dataset>/metrics.json`. Nothing here imports torch or any other gangrid
module: orchestrators and the stage table read it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RESULTS_DIR = Path("results")
CHECKPOINT_ROOT = Path("checkpoints")
CLASSIFIER_DIR = Path("models/classifier")
REAL_STUDY = "real"  # results/real/<dataset>/: the real-data reference rows


@dataclass(frozen=True)
class RunFiles:
    """The output files of one run, under `results/<study>/<run>/` (relative to the repository root)."""

    dir: Path

    # file names inside a run directory (the stage table builds the pipelines' paths from them)
    CHECKPOINT = "checkpoint.pt"
    CONFIG = "config.json"
    STATUS = "status.json"
    SAMPLES = "samples.npz"
    GRID = "grid.png"
    METRICS = "metrics.json"
    TRAIN_LOG = "train_log"

    @property
    def checkpoint(self) -> Path:
        """The final trained state: `{config_hash, config, state}` (gangrid.training.checkpoints)."""
        return self.dir / self.CHECKPOINT

    @property
    def config(self) -> Path:
        """The run's effective config (config.json)."""
        return self.dir / self.CONFIG

    @property
    def status(self) -> Path:
        """How training ended: `{status: finished | diverged, step, ...}` (status.json, written last)."""
        return self.dir / self.STATUS

    @property
    def samples(self) -> Path:
        """The generated samples (samples.npz) that the evaluate stage scores."""
        return self.dir / self.SAMPLES

    @property
    def grid(self) -> Path:
        """A picture of the samples (grid.png)."""
        return self.dir / self.GRID

    @property
    def metrics(self) -> Path:
        """The evaluate stage's metrics.json."""
        return self.dir / self.METRICS

    @property
    def train_log(self) -> Path:
        """The DVCLive directory of the training curves."""
        return self.dir / self.TRAIN_LOG


def run_files(study: str, run: str) -> RunFiles:
    """The files of run `run` of study `study`."""
    return RunFiles(RESULTS_DIR / study / run)


def resume_dir(study: str, run: str) -> Path:
    """Where a run's resumable checkpoints live while it trains (`checkpoints/<study>/<run>/`)."""
    return CHECKPOINT_ROOT / study / run


def real_metrics_path(dataset: str) -> Path:
    """The real-data reference row of a dataset: `results/real/<dataset>/metrics.json`."""
    return RESULTS_DIR / REAL_STUDY / dataset / "metrics.json"


def classifier_path(dataset: str) -> Path:
    """The dataset's domain classifier (the metrics' feature extractor): `models/classifier/<dataset>.pt`."""
    return CLASSIFIER_DIR / f"{dataset}.pt"


def classifier_metrics_path(dataset: str) -> Path:
    """Its accuracies and sizes: `models/classifier/<dataset>.json` (a DVC metric)."""
    return CLASSIFIER_DIR / f"{dataset}.json"
