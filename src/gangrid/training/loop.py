"""The training loop every study kind shares: resume, iterate, log, detect divergence, checkpoint, finish.

It drives any `gangrid.training.base.Trainer`. Outputs of a run: checkpoint.pt,
config.json and status.json (written last) in its results folder, and its DVCLive
log (train_log/, appended on resume); resumable checkpoints live under
checkpoints/<study>/<run>/ while it trains.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from typing import Any, Callable, Iterator

import torch
from tqdm import tqdm

from gangrid.artifacts import RunFiles
from gangrid.errors import Terminated
from gangrid.io import ensure_writable, remove_stale_temps, save_torch, write_json
from gangrid.training.base import Trainer, to_floats
from gangrid.training.checkpoints import discard, resume, save_checkpoint
from gangrid.training.convergence import DIVERGED, verdict
from gangrid.training.log import TrainLog
from gangrid.training.tracking import EVAL_PREFIX, Tracker


@contextlib.contextmanager
def stop_requests() -> Iterator[list[int]]:
    """While active, SIGTERM (a scheduler's time limit or preemption) only records a request to stop,
    which the loop honours at the next step boundary by checkpointing that step first."""
    requested: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield requested
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: requested.append(signum))
    try:
        yield requested
    finally:
        signal.signal(signal.SIGTERM, previous)


def final_payload(trainer: Trainer, config: dict[str, Any], chash: str) -> dict[str, Any]:
    """What a run's final checkpoint.pt holds: the config hash, the config, and the trainer state."""
    return {"config_hash": chash, "config": config, "state": trainer.state_dict()}


def train(config: dict[str, Any], chash: str, fresh: Callable[[], Trainer], files: RunFiles, ckpt_dir: Any,
          device: torch.device, label: str, progress: bool = True, tracker: Tracker | None = None) -> dict[str, Any]:
    """Train a run to `train.steps`, resuming from its latest valid checkpoint in `ckpt_dir`; returns its status.

    `fresh()` builds the run's trainer at step 0 exactly as an uninterrupted run does. A run
    whose losses or parameters become NaN/inf stops and ends with status "diverged" at that
    step (a normal ending: the grid goes on). SIGTERM checkpoints the current step and raises
    Terminated. With a `tracker`, the run's metrics are scored every `eval.every` steps and at
    the last step (logged under `eval/`), and status.json carries the convergence verdict of
    the tracked metric's curve.
    """
    train_cfg = config["train"]
    trainer, resumed = resume(ckpt_dir, chash, fresh)
    ensure_writable(files.dir)
    ensure_writable(ckpt_dir)
    remove_stale_temps(files.dir)
    if trainer.step:
        print(f"resuming {label} from step {trainer.step}", file=sys.stderr)

    steps = int(train_cfg["steps"])
    log_every = int(train_cfg.get("log_every", 50))
    ckpt_every = int(train_cfg.get("checkpoint_every", 500))
    keep = int(train_cfg.get("keep_checkpoints", 2))
    saved_log = resumed.get("log") if resumed is not None else None
    log = TrainLog(files.train_log, resume_step=trainer.step, saved=saved_log if isinstance(saved_log, dict) else None)
    tracked = log.series(EVAL_PREFIX + tracker.metric) if tracker is not None else []  # (step, value) so far
    status: dict[str, Any] = {"status": "finished", "step": steps}
    started = time.perf_counter()
    window_start, window_steps = started, 0
    bar = tqdm(total=steps, initial=trainer.step, desc=label.split("/")[-1], disable=not progress, mininterval=2.0,
               file=sys.stderr)
    try:
        with stop_requests() as stop:
            while trainer.step < steps:
                try:
                    stats = trainer.iteration()
                except RuntimeError as exc:
                    reason = trainer.failure_divergence(exc)
                    if reason is None:
                        raise
                    status = {"status": "diverged", "step": trainer.step + 1, "reason": reason}
                    log.log(trainer.step + 1, {"loss_d": float("nan"), "loss_g": float("nan")})
                    break
                trainer.record(stats)
                window_steps += 1
                bar.update(1)
                last = trainer.step == steps
                log_now = trainer.step % log_every == 0 or last
                ckpt_now = trainer.step % ckpt_every == 0 and not last
                if log_now or ckpt_now or stop:  # never checkpoint a diverged state
                    # the first step since the last check with a NaN/inf value, else this step (its parameters)
                    at, values = trainer.first_nonfinite() or (trainer.step, stats)
                    reason = trainer.divergence(values)
                    if reason is not None:
                        status = {"status": "diverged", "step": at, "reason": reason}
                        log.log(at, to_floats(values))  # the values it diverged with (NaN for non-finite ones)
                        break
                row: dict[str, float] = {}
                if log_now:
                    now = time.perf_counter()
                    row = to_floats(stats) | to_floats(trainer.grad_norms())
                    row["steps_per_sec"] = window_steps / max(now - window_start, 1e-9)
                    window_start, window_steps = now, 0
                if tracker is not None and tracker.due(trainer.step, last):
                    scores = tracker(trainer)
                    row.update({EVAL_PREFIX + k: v for k, v in scores.items()})
                    if tracker.metric in scores:
                        tracked.append((trainer.step, scores[tracker.metric]))
                    window_start = time.perf_counter()  # steps/s counts training only
                if row:
                    log.log(trainer.step, row)
                if ckpt_now or (stop and not last):
                    path = save_checkpoint(ckpt_dir, trainer.step, trainer.state_dict(), chash, keep, extra={"log": log.tables()})
                    if stop:
                        raise Terminated(f"{label}: stopped by SIGTERM at step {trainer.step}; "
                                         f"saved {path.as_posix()}, rerun to resume")
    finally:
        bar.close()
        log.close()
    if status["status"] == "diverged":
        print(f"{label}: diverged at step {status['step']}: {status['reason']}", file=sys.stderr)
    status["train_seconds"] = round(time.perf_counter() - started, 3)
    status["device"] = device.type
    if tracker is not None:
        status["eval_seconds"] = round(tracker.seconds, 3)
        status["convergence"] = convergence(status, tracked, int(train_cfg["steps"]), tracker)
    save_torch(files.checkpoint, final_payload(trainer, config, chash))
    write_json(files.config, config)
    write_json(files.status, status)
    discard(ckpt_dir)  # the run has ended: a rerun (e.g. after a code change) starts from step 0
    return status


def convergence(status: dict[str, Any], tracked: list[tuple[int, float]], steps: int, tracker: Tracker) -> dict[str, Any]:
    """The run's convergence verdict from its tracked metric's curve (`diverged` for a run that diverged)."""
    if status["status"] == "diverged":
        return {"verdict": DIVERGED, "metric": tracker.metric}
    return verdict([s for s, _ in tracked], [v for _, v in tracked], steps, tracker.settings.rule, tracker.metric)
