"""Resumable checkpoints: `checkpoints/<study>/<run>/step_<N>.pt`, atomic, the last few kept.

A checkpoint is `{"config_hash", "state"}`; it is used only if it loads with
`weights_only=True` and its config hash equals the run's. Anything else is
reported on one line and ignored (never silently used).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gangrid.errors import CheckpointError
from gangrid.io import load_torch, save_torch

CHECKPOINT_ROOT = Path("checkpoints")


def resume_dir(study: str, run: str) -> Path:
    """Where a run's resumable checkpoints live (outside results/, so orchestrators never delete them)."""
    return CHECKPOINT_ROOT / study / run


def checkpoint_path(directory: Path, step: int) -> Path:
    return directory / f"step_{step:08d}.pt"


def save_checkpoint(directory: Path, step: int, payload: dict[str, Any], keep: int) -> Path:
    """Write step_<step>.pt atomically and delete all but the `keep` newest."""
    path = checkpoint_path(directory, step)
    save_torch(path, payload)
    for old in sorted(directory.glob("step_*.pt"))[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_checked(path: Path, expected_hash: str) -> dict[str, Any]:
    """Load a checkpoint safely and check it belongs to this config; CheckpointError otherwise."""
    payload = load_torch(path)
    if not isinstance(payload, dict) or "state" not in payload or "config_hash" not in payload:
        raise CheckpointError(f"refusing checkpoint {path}: not a gangrid checkpoint")
    if payload["config_hash"] != expected_hash:
        raise CheckpointError(
            f"refusing checkpoint {path}: written for config {payload['config_hash'][:12]}, "
            f"this run's config is {expected_hash[:12]} (params changed)"
        )
    return payload


def latest_valid(directory: Path, expected_hash: str) -> dict[str, Any] | None:
    """The newest checkpoint that loads and matches `expected_hash`; refused ones are reported and removed."""
    for path in sorted(directory.glob("step_*.pt"), reverse=True):
        try:
            return load_checked(path, expected_hash)
        except CheckpointError as exc:
            print(f"warning: {exc}; not resuming from it", file=sys.stderr)
            path.unlink(missing_ok=True)
    return None
