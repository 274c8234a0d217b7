"""The `train` stage: one run of the grid -> checkpoint.pt, config.json, status.json, train_log/."""

from __future__ import annotations

from typing import Any

from gangrid.artifacts import resume_dir
from gangrid.config import RunSpec, config_hash, resolve_run
from gangrid.kinds import get_kind
from gangrid.runtime import pick_device
from gangrid.training.loop import train
from gangrid.validate import check_processed


def train_run(params: dict[str, Any], spec: RunSpec, progress: bool = True) -> dict[str, Any]:
    """Train one run with its study kind's trainer, resuming from its latest valid checkpoint; returns its status.

    Everything that can fail on bad input (params, dataset files and their checksums, the
    arch/data pairing, writable output folders) is checked before the first output is written.
    """
    config = resolve_run(params, spec)
    device = pick_device(config["train"].get("device", "auto"))
    check_processed(spec.dataset, "train")
    kind = get_kind(config["run"]["kind"], f"studies.{spec.study}.kind")
    fresh = kind.fresh_trainer(config, device)
    return train(config, config_hash(config), fresh, spec.files, resume_dir(spec.study, spec.name), device,
                 f"{spec.study}/{spec.name}", progress, tracker=kind.tracker(config))
