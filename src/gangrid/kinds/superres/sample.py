"""Sampling an SR run: super-resolve the fixed LR test inputs -> samples.npz, and a comparison grid -> grid.png."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from gangrid.config import RunSpec
from gangrid.data.store import to_model, to_uint8
from gangrid.data.superres import bicubic_upsample
from gangrid.io import save_npz
from gangrid.kinds.superres.evaluate import eval_test_set
from gangrid.plotting import save_image_grid


@torch.no_grad()
def super_resolve(g: nn.Module, lr: np.ndarray, device: torch.device, batch: int = 256) -> np.ndarray:
    """uint8 NCHW LR images through an SR generator -> uint8 NCHW SR images."""
    out = [to_uint8(g(to_model(lr[i : i + batch]).to(device))).cpu().numpy() for i in range(0, len(lr), batch)]
    return np.concatenate(out)


def comparison_rows(lr: np.ndarray, bicubic: np.ndarray, sr: np.ndarray, hr: np.ndarray, factor: int, n: int) -> np.ndarray:
    """n rows of [LR (nearest-upscaled), bicubic, SR, HR] images, in row-major order for a 4-column grid."""
    nearest = lr[:n].repeat(factor, axis=2).repeat(factor, axis=3)
    return np.stack([nearest, bicubic[:n], sr[:n], hr[:n]], axis=1).reshape(-1, *hr.shape[1:])


def sample_superres_run(params: dict[str, Any], spec: RunSpec, trainer: Any) -> None:
    """Write samples.npz (x = SR, hr, lr, bicubic, y) and grid.png (LR / bicubic / SR / HR rows) of a finished run."""
    t = eval_test_set(params, spec.dataset)
    sr = super_resolve(trainer.sampling_generator(), t.lr, trainer.device)
    bicubic = bicubic_upsample(t.lr, t.factor)
    arrays = {"x": sr, "hr": t.hr, "lr": t.lr, "bicubic": bicubic, "status": np.array("finished")}
    if t.y is not None:
        arrays["y"] = t.y
    save_npz(spec.files.samples, **arrays)
    save_image_grid(spec.files.grid, comparison_rows(t.lr, bicubic, sr, t.hr, t.factor, int(params["eval"].get("grid_size", 8))),
                    nrow=4)
