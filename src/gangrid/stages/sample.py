"""The `sample` stage: a trained run -> samples.npz + grid.png, by its study kind (empty, marked files for a
run that did not finish)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gangrid.config import RunSpec
from gangrid.io import read_json, save_npz
from gangrid.kinds import get_kind, load_finished_run
from gangrid.plotting import save_text_image
from gangrid.runtime import pick_device


def sample_run(params: dict[str, Any], spec: RunSpec) -> None:
    """Write samples.npz and grid.png for one run."""
    files = spec.files
    status = read_json(files.status)
    if status["status"] != "finished":
        save_npz(files.samples, x=np.zeros((0,), np.float32), status=np.array(status["status"]))
        save_text_image(files.grid, f"{spec.name}\n{status['status']} at step {status['step']}")
        return
    trainer = load_finished_run(files.dir, pick_device(params["train"].get("device", "auto")))
    get_kind(trainer.config["run"]["kind"]).sample(params, spec, trainer)
