"""The `train` stage: one run of the grid -> checkpoint.pt, config.json, status.json, train_log/."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from gangrid.checkpoints import latest_valid, resume_dir, save_checkpoint
from gangrid.config import RunSpec, config_hash, resolve_run
from gangrid.data.store import load_split, read_manifest
from gangrid.io import save_torch, write_json
from gangrid.nets import DataSpec
from gangrid.train import Trainer, all_finite, params_finite, pick_device, seed_everything, to_floats
from gangrid.train_log import TrainLog


def data_spec(dataset: str) -> DataSpec:
    """The DataSpec of a processed dataset (kind, sample shape, number of classes)."""
    manifest = read_manifest(dataset)
    shape = tuple(manifest["files"]["train_x.npy"]["shape"][1:])
    n_classes = int(manifest.get("meta", {}).get("classes", 0)) if manifest.get("labels") else 0
    return DataSpec(kind=manifest["kind"], shape=shape, n_classes=n_classes)


def final_payload(trainer: Trainer, config: dict[str, Any], chash: str) -> dict[str, Any]:
    """What a checkpoint file holds: the config hash, the config, and the trainer state."""
    return {"config_hash": chash, "config": config, "state": trainer.state_dict()}


def build_trainer(config: dict[str, Any], device: torch.device) -> Trainer:
    """A Trainer for a resolved config, with the dataset's spec."""
    return Trainer(config, data_spec(config["run"]["dataset"]), device)


def train_run(params: dict[str, Any], spec: RunSpec, progress: bool = True) -> dict[str, Any]:
    """Train one run (resuming from its latest valid checkpoint) and write its outputs; returns status."""
    config = resolve_run(params, spec)
    chash = config_hash(config)
    train = config["train"]
    run_dir, ckpt_dir = spec.dir, resume_dir(spec.study, spec.name)
    device = pick_device(train.get("device", "auto"))

    seed_everything(spec.seed)
    trainer = build_trainer(config, device)
    split = load_split(spec.dataset, "train", mmap=False)
    x = torch.from_numpy(split.x)
    y = torch.from_numpy(split.y) if (split.y is not None and trainer.data.n_classes) else None
    trainer.attach_data(x, y, seed=spec.seed)

    payload = latest_valid(ckpt_dir, chash) if ckpt_dir.exists() else None
    if payload is not None:
        trainer.load_state_dict(payload["state"])
        print(f"resuming {spec.study}/{spec.name} from step {trainer.step}", file=sys.stderr)
    write_json(run_dir / "config.json", config)

    steps = int(train["steps"])
    log_every = int(train.get("log_every", 50))
    ckpt_every = int(train.get("checkpoint_every", 500))
    keep = int(train.get("keep_checkpoints", 2))
    log = TrainLog(run_dir / "train_log", resume_step=trainer.step)
    status: dict[str, Any] = {"status": "finished", "step": steps}
    started = time.perf_counter()
    window_start, window_steps = started, 0
    bar = tqdm(total=steps, initial=trainer.step, desc=spec.name, disable=not progress, mininterval=2.0, file=sys.stderr)
    try:
        while trainer.step < steps:
            stats = trainer.iteration()
            window_steps += 1
            bar.update(1)
            last = trainer.step == steps
            if trainer.step % log_every == 0 or last:
                if not all_finite(stats) or not params_finite(trainer.g) or not params_finite(trainer.d):
                    status = {"status": "diverged", "step": trainer.step, "reason": "non-finite loss or parameters"}
                    break
                now = time.perf_counter()
                row = to_floats(stats)
                row["steps_per_sec"] = window_steps / max(now - window_start, 1e-9)
                log.log(trainer.step, row)
                window_start, window_steps = now, 0
            if trainer.step % ckpt_every == 0 and not last:
                save_checkpoint(ckpt_dir, trainer.step, final_payload(trainer, config, chash), keep)
    finally:
        bar.close()
        log.close()
    status["train_seconds"] = round(time.perf_counter() - started, 3)
    status["device"] = device.type
    save_torch(run_dir / "checkpoint.pt", final_payload(trainer, config, chash))
    write_json(run_dir / "status.json", status)
    return status
