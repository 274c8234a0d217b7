"""Resumable checkpoints: `checkpoints/<study>/<run>/step_<N>.pt`, atomic, the last few kept.

A resume checkpoint is `{"config_hash", "code", "step", "state", "log"}` (log:
the training log's tables so far). It is used
only if it is a complete zip archive whose records pass their CRC-32, loads
with `weights_only=True`, was written for this run's config hash and by the
same training code (`code_fingerprint`), and its state loads into the run's
trainer. Anything else is reported on one line (`warning: refusing checkpoint
...`), deleted and never used; the run then tries the next older checkpoint, or
starts from step 0.

The final `results/<study>/<run>/checkpoint.pt` is `{"config_hash", "config",
"state"}`; `load_checked` checks it for the sample stage. Resume checkpoints
live outside results/ so that orchestrators, which delete a stage's outputs
before rerunning it, never delete them; a run that ends (finished or diverged)
removes its own.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Protocol

from gangrid.errors import CheckpointError
from gangrid.io import load_torch, remove_stale_temps, save_torch, untracked
from gangrid.stagetable import STAGES, code_paths

PACKAGE_DIR = Path(__file__).resolve().parents[1]
# The code a trained state depends on: the train stage's code (every kind's), as both orchestrators declare it.
TRAINING_CODE = tuple(code_paths(STAGES["train"], kind=None))


class Resumable(Protocol):
    """What `resume` needs of a trainer."""

    step: int

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def checkpoint_path(directory: Path, step: int) -> Path:
    """`<directory>/step_<step, 8 digits>.pt` (zero-padded, so names sort by step)."""
    return directory / f"step_{step:08d}.pt"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """sha256 of the training code's source files: a checkpoint written by other code is not resumed."""
    digest = hashlib.sha256()
    for rel in TRAINING_CODE:
        root = PACKAGE_DIR / rel
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for f in files:
            digest.update(f.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
            digest.update(f.read_bytes() + b"\0")
    return digest.hexdigest()


def save_checkpoint(directory: Path, step: int, state: dict[str, Any], config_hash: str, keep: int,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write step_<step>.pt atomically (config hash, code fingerprint, step, state, `extra`); keep the `keep` newest."""
    path = checkpoint_path(directory, step)
    payload = {**(extra or {}), "config_hash": config_hash, "code": code_fingerprint(), "step": int(step), "state": state}
    with untracked():  # resumable state, not a stage output: it survives a failing stage
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
            f"refusing checkpoint {path}: written for config {str(payload['config_hash'])[:12]}, "
            f"this run's config is {expected_hash[:12]} (params changed)"
        )
    return payload


def load_resumable(path: Path, expected_hash: str) -> dict[str, Any]:
    """A resume checkpoint that matches this config, this training code and its file name's step."""
    payload = load_checked(path, expected_hash)
    if payload.get("code") != code_fingerprint():
        raise CheckpointError(f"refusing checkpoint {path}: written by other training code (the code changed since)")
    if payload.get("step") != int(path.stem.split("_")[-1]):
        raise CheckpointError(f"refusing checkpoint {path}: it holds step {payload.get('step')!r}, not the step its name says")
    return payload


def refuse(path: Path, reason: str) -> None:
    """Report a refused checkpoint on one line and delete it (it is never used)."""
    print(f"warning: {reason}; not resuming from it (deleted)", file=sys.stderr)
    path.unlink(missing_ok=True)


def resume(directory: Path, expected_hash: str, fresh: Callable[[], Resumable]) -> tuple[Resumable, dict[str, Any] | None]:
    """(trainer, payload): a trainer at the newest valid checkpoint in `directory` and that
    checkpoint's payload, or (`fresh()` at step 0, None) when there is none.

    `fresh()` must build a new trainer exactly as an uninterrupted run does
    (same seeding), because a state that fails to load half-way is discarded
    together with the trainer it was loaded into.
    """
    trainer = fresh()
    if not directory.is_dir():
        return trainer, None
    remove_stale_temps(directory)
    for path in sorted(directory.glob("step_*.pt"), reverse=True):
        try:
            payload = load_resumable(path, expected_hash)
        except CheckpointError as exc:
            refuse(path, str(exc))
            continue
        try:
            trainer.load_state_dict(payload["state"])
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            refuse(path, f"refusing checkpoint {path}: its state does not fit this run ({type(exc).__name__}: {first})")
            trainer = fresh()
            continue
        return trainer, payload
    return trainer, None


def discard(directory: Path) -> None:
    """Delete a run's resume checkpoints (once its final outputs are written).

    Only the run's own folder goes: parallel jobs may be creating siblings.
    """
    shutil.rmtree(directory, ignore_errors=True)
