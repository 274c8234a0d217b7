"""Metrics during training: what a study kind's tracker is, and the settings it runs with.

Every `every` steps (and at the last step) the training loop asks the run's tracker to
score a fixed-noise sample of the current generator with the cheap metrics of its kind
(2-D mixtures: modes, high-quality %, mode KL; images: FID, KID, coverage on the domain
classifier's features against a fixed real subset; translation: L1 and FID of fixed test
inputs). The values go to the run's DVCLive log under `eval/` (so `dvc plots` and the
report draw metric-vs-step curves), and the curve of the tracked metric decides the run's
convergence verdict (gangrid.training.convergence).

A tracker never changes training: it samples in eval mode from its own fixed noise,
inside `seeded_torch` (the global RNGs are restored), so a run trains to the same bytes
with or without it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gangrid.training.convergence import Rule

if TYPE_CHECKING:
    from gangrid.training.base import Trainer

EVAL_PREFIX = "eval/"  # DVCLive series of the in-training metrics: train_log/plots/metrics/eval/<name>.tsv


@dataclass(frozen=True)
class TrackSettings:
    """A run's in-training evaluation (`config["track"]`, resolved from `eval.every` and `eval.track`).

    `every`: steps between evaluations (0: off); `n`: samples per evaluation (at most the size of the
    real subset they are compared with); `metrics`: metric names (those that apply to the data are
    computed), or a mapping data kind -> metric names; `primary`: data kind -> the measure whose
    curve decides convergence; `seed`: the fixed noise; `protocol`: settings handed to the metric
    functions (KID subsets, k, ...); `rule`: the convergence rule.
    """

    every: int = 0
    n: int = 1000
    metrics: tuple[str, ...] | dict[str, tuple[str, ...]] = ()
    primary: dict[str, str] = field(default_factory=dict)
    seed: int = 1234
    protocol: dict[str, Any] = field(default_factory=dict)
    rule: Rule = Rule()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "TrackSettings":
        """The settings of a resolved run config (off when it has no `track` section)."""
        track = config.get("track") or {}
        protocol = {k: v for k, v in track.items() if k not in ("every", "n", "metrics", "primary", "seed", "convergence")}
        metrics = track.get("metrics", ())
        metrics = {k: tuple(v) for k, v in metrics.items()} if isinstance(metrics, dict) else tuple(metrics)
        return cls(int(track.get("every", 0)), int(track.get("n", 1000)), metrics,
                   dict(track.get("primary", {})), int(track.get("seed", 1234)), protocol,
                   Rule.from_config(track.get("convergence")))


    def metrics_for(self, data_kind: str) -> tuple[str, ...]:
        """The metric names tracked for data of `data_kind` (all of a plain list; a mapping's entry)."""
        if isinstance(self.metrics, dict):
            return tuple(self.metrics.get(data_kind, ()))
        return tuple(self.metrics)


class Tracker:
    """Scores a trainer's current generator with the kind's cheap metrics (one call per evaluation).

    `metric` names the value whose curve decides convergence (e.g. `fid1k_clf`, `hq_pct`);
    `seconds` accumulates the time spent evaluating (reported as a share of training time).
    """

    metric: str = ""

    def __init__(self, settings: TrackSettings) -> None:
        self.settings = settings
        self.seconds = 0.0

    def evaluate(self, trainer: "Trainer") -> dict[str, float]:
        """The tracked metrics of `trainer`'s current sampling generator ({name: value})."""
        raise NotImplementedError

    def __call__(self, trainer: "Trainer") -> dict[str, float]:
        """`evaluate`, timed."""
        started = time.perf_counter()
        try:
            return self.evaluate(trainer)
        finally:
            self.seconds += time.perf_counter() - started

    def due(self, step: int, last: bool) -> bool:
        """True when step `step` is an evaluation step (every `every` steps, and the last step)."""
        every = self.settings.every
        return every > 0 and (step % every == 0 or last)
