"""The `train` stage: one run of the grid -> checkpoint.pt, config.json, status.json, train_log/."""

from __future__ import annotations

import contextlib
import re
import signal
import sys
import threading
import time
from typing import Any, Iterator

import torch
from tqdm import tqdm

from gangrid.checkpoints import discard, resume, resume_dir, save_checkpoint
from gangrid.config import RunSpec, config_hash, resolve_run
from gangrid.data.store import load_split, read_manifest
from gangrid.errors import Terminated
from gangrid.io import ensure_writable, remove_stale_temps, save_torch, write_json
from gangrid.nets import DataSpec
from gangrid.train import Trainer, all_finite, params_finite, pick_device, seed_everything, to_floats
from gangrid.train_log import TrainLog
from gangrid.validate import check_processed


def data_spec(dataset: str) -> DataSpec:
    """The DataSpec of a processed dataset (kind, sample shape, number of classes)."""
    manifest = read_manifest(dataset)
    shape = tuple(manifest["files"]["train_x.npy"]["shape"][1:])
    n_classes = int(manifest.get("meta", {}).get("classes", 0)) if manifest.get("labels") else 0
    return DataSpec(kind=manifest["kind"], shape=shape, n_classes=n_classes)


def final_payload(trainer: Trainer, config: dict[str, Any], chash: str) -> dict[str, Any]:
    """What a checkpoint file holds: the config hash, the config, and the trainer state."""
    return {"config_hash": chash, "config": config, "state": trainer.state_dict()}


def build_trainer(config: dict[str, Any], device: torch.device, optimizers: bool = True) -> Trainer:
    """A Trainer for a resolved config, with the dataset's spec (`optimizers=False`: for sampling)."""
    return Trainer(config, data_spec(config["run"]["dataset"]), device, optimizers)


def divergence(trainer: Trainer, stats: dict[str, torch.Tensor]) -> str | None:
    """Why the run has diverged (which losses or nets became NaN/inf), or None while all is finite."""
    if not all_finite(stats):
        bad = [k for k, v in stats.items() if not bool(torch.isfinite(v).all())]
        return f"non-finite {', '.join(bad)}"
    for name, net in (("G", trainer.g), ("D", trainer.d)):
        if not params_finite(net):
            return f"non-finite parameters in {name}"
    return None


def failure_divergence(trainer: Trainer, exc: RuntimeError) -> str | None:
    """The divergence behind an error raised by an update (an op refusing NaN/inf input), or None for other errors."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    for name, net in (("G", trainer.g), ("D", trainer.d)):
        if not params_finite(net):
            return f"non-finite parameters in {name} ({text})"
    if re.search(r"\b(nan|inf|infinity)\b", text, re.IGNORECASE):
        return f"non-finite values ({text})"
    return None


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


def train_run(params: dict[str, Any], spec: RunSpec, progress: bool = True) -> dict[str, Any]:
    """Train one run, resuming from its latest valid checkpoint, and write its outputs; returns status.

    Everything that can fail on bad input (params, dataset files and their
    checksums, the arch/data pairing, writable output folders) is checked
    before the first output is written. A run whose losses or parameters
    become NaN/inf stops and ends with status "diverged" at that step (a
    normal ending: the grid goes on). Outputs: checkpoint.pt, config.json and
    status.json (written last), train_log/ (DVCLive, appended on resume).
    """
    config = resolve_run(params, spec)
    chash = config_hash(config)
    train = config["train"]
    run_dir, ckpt_dir = spec.dir, resume_dir(spec.study, spec.name)
    device = pick_device(train.get("device", "auto"))
    check_processed(spec.dataset, "train")
    if config["run"]["kind"] == "translation":  # image-to-image study: the loop of gangrid.translation
        from gangrid.translation.trainer import translation_fresh

        fresh = translation_fresh(config, device, spec.dataset, spec.seed)
    else:
        split = load_split(spec.dataset, "train", mmap=False)
        x = torch.from_numpy(split.x)

        def fresh() -> Trainer:
            seed_everything(spec.seed)
            trainer = build_trainer(config, device)
            y = torch.from_numpy(split.y) if (split.y is not None and trainer.data.n_classes) else None
            trainer.attach_data(x, y, seed=spec.seed)
            return trainer

    trainer, resumed = resume(ckpt_dir, chash, fresh)
    ensure_writable(run_dir)
    ensure_writable(ckpt_dir)
    remove_stale_temps(run_dir)
    if trainer.step:
        print(f"resuming {spec.study}/{spec.name} from step {trainer.step}", file=sys.stderr)

    steps = int(train["steps"])
    log_every = int(train.get("log_every", 50))
    ckpt_every = int(train.get("checkpoint_every", 500))
    keep = int(train.get("keep_checkpoints", 2))
    saved_log = resumed.get("log") if resumed is not None else None
    log = TrainLog(run_dir / "train_log", resume_step=trainer.step, saved=saved_log if isinstance(saved_log, dict) else None)
    status: dict[str, Any] = {"status": "finished", "step": steps}
    started = time.perf_counter()
    window_start, window_steps = started, 0
    bar = tqdm(total=steps, initial=trainer.step, desc=spec.name, disable=not progress, mininterval=2.0, file=sys.stderr)
    try:
        with stop_requests() as stop:
            while trainer.step < steps:
                try:
                    stats = trainer.iteration()
                except RuntimeError as exc:
                    reason = failure_divergence(trainer, exc)
                    if reason is None:
                        raise
                    status = {"status": "diverged", "step": trainer.step + 1, "reason": reason}
                    log.log(trainer.step + 1, {"loss_d": float("nan"), "loss_g": float("nan")})
                    break
                window_steps += 1
                bar.update(1)
                last = trainer.step == steps
                log_now = trainer.step % log_every == 0 or last
                ckpt_now = trainer.step % ckpt_every == 0 and not last
                if log_now or ckpt_now or stop:  # never checkpoint a diverged state
                    reason = divergence(trainer, stats)
                    if reason is not None:
                        status = {"status": "diverged", "step": trainer.step, "reason": reason}
                        log.log(trainer.step, to_floats(stats))  # the values it diverged with (NaN for non-finite ones)
                        break
                if log_now:
                    now = time.perf_counter()
                    row = to_floats(stats)
                    row["steps_per_sec"] = window_steps / max(now - window_start, 1e-9)
                    log.log(trainer.step, row)
                    window_start, window_steps = now, 0
                if ckpt_now or (stop and not last):
                    path = save_checkpoint(ckpt_dir, trainer.step, trainer.state_dict(), chash, keep, extra={"log": log.tables()})
                    if stop:
                        raise Terminated(f"{spec.study}/{spec.name}: stopped by SIGTERM at step {trainer.step}; "
                                         f"saved {path.as_posix()}, rerun to resume")
    finally:
        bar.close()
        log.close()
    if status["status"] == "diverged":
        print(f"{spec.study}/{spec.name}: diverged at step {status['step']}: {status['reason']}", file=sys.stderr)
    status["train_seconds"] = round(time.perf_counter() - started, 3)
    status["device"] = device.type
    save_torch(run_dir / "checkpoint.pt", final_payload(trainer, config, chash))
    write_json(run_dir / "config.json", config)
    write_json(run_dir / "status.json", status)
    discard(ckpt_dir)  # the run has ended: a rerun (e.g. after a code change) starts from step 0
    return status
