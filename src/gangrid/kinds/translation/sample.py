"""Sampling a translation run: translate the fixed held-out test inputs -> samples.npz + grid.png.

Test inputs: min(eval.n_samples, test size) images of each domain (`gangrid.kinds.translation.data.test_set`).
pix2pix's dropout stays on at test time, so translation draws from the torch RNG, seeded
with eval.sample_seed: the same checkpoint gives the same samples.npz on CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from gangrid.config import RunSpec
from gangrid.data.store import to_model, to_uint8
from gangrid.io import save_npz
from gangrid.kinds.translation.data import test_set
from gangrid.kinds.translation.figures import save_triptych
from gangrid.kinds.translation.trainer import TranslationTrainer
from gangrid.runtime import seeded_torch


@torch.no_grad()
def translate(g: nn.Module, x: np.ndarray, device: torch.device, batch: int = 256) -> np.ndarray:
    """uint8 NCHW images through a generator -> uint8 NCHW translations."""
    out = []
    for i in range(0, len(x), batch):
        out.append(to_uint8(g(to_model(x[i : i + batch]).to(device))).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, *x.shape[1:]), np.uint8)


@torch.no_grad()
def translate_test_set(g: nn.Module, params: dict[str, Any], dataset: str, device: torch.device, seed: int) -> dict[str, np.ndarray]:
    """The arrays of samples.npz (see `gangrid.kinds.translation`): inputs, translations, targets, cycles, labels."""
    t = test_set(params, dataset)
    two_way = "ba" in g
    with seeded_torch(seed, device):
        out: dict[str, np.ndarray] = {"src": t.a, "x": translate(g["ab"], t.a, device)}
        if t.paired:
            out["target"] = t.b
        if two_way:
            out["rec"] = translate(g["ba"], out["x"], device)
            out["src_b"] = t.b
            out["x_b"] = translate(g["ba"], t.b, device)
            out["rec_b"] = translate(g["ab"], out["x_b"], device)
            if t.paired:
                out["target_b"] = t.a
    if t.y_a is not None:
        out["y"] = t.y_a
    if two_way and t.y_b is not None:
        out["y_b"] = t.y_b
    return out


def sample_translation_run(params: dict[str, Any], spec: RunSpec, trainer: TranslationTrainer) -> None:
    """Write samples.npz and grid.png (triptychs) of a finished translation run."""
    ev = params["eval"]
    arrays = translate_test_set(trainer.sampling_generator(), params, spec.dataset, trainer.device,
                                int(ev.get("sample_seed", 0)))
    save_npz(spec.files.samples, **arrays, status=np.array("finished"))
    save_triptych(spec.files.grid, arrays, n=int(ev.get("grid_size", 8)), title=spec.name)
