"""The `sample` stage of a translation run: translate the fixed held-out test inputs -> samples.npz + grid.png.

Test inputs: min(eval.n_samples, test size) images of each domain (`gangrid.translation.data.test_set`).
pix2pix's dropout stays on at test time, so translation draws from the torch RNG, seeded
with eval.sample_seed: the same checkpoint gives the same samples.npz on CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gangrid.checkpoints import load_checked
from gangrid.config import RunSpec, config_hash
from gangrid.data.store import to_model, to_uint8
from gangrid.io import read_json, save_npz
from gangrid.plotting import save_text_image
from gangrid.train import pick_device
from gangrid.translation.data import test_set
from gangrid.translation.figures import save_triptych
from gangrid.translation.trainer import TranslationTrainer, build_translation_trainer


def load_translators(run_dir: Path, device: torch.device) -> tuple[nn.Module, dict[str, Any], TranslationTrainer]:
    """The sampling generators (keyed by direction; EMA weights when used) of a finished run, its config and trainer."""
    config = read_json(run_dir / "config.json")
    trainer = build_translation_trainer(config, device, optimizers=False)
    payload = load_checked(run_dir / "checkpoint.pt", config_hash(config))
    trainer.load_state_dict(payload["state"], restore_rng=False)
    return trainer.sampling_generator(), config, trainer


@torch.no_grad()
def translate(g: nn.Module, x: np.ndarray, device: torch.device, batch: int = 256) -> np.ndarray:
    """uint8 NCHW images through a generator -> uint8 NCHW translations."""
    out = []
    for i in range(0, len(x), batch):
        out.append(to_uint8(g(to_model(x[i : i + batch]).to(device))).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, *x.shape[1:]), np.uint8)


@torch.no_grad()
def translate_test_set(g: nn.Module, params: dict[str, Any], dataset: str, device: torch.device, seed: int) -> dict[str, np.ndarray]:
    """The arrays of samples.npz (see `gangrid.translation`): inputs, translations, targets, cycles, labels."""
    t = test_set(params, dataset)
    two_way = "ba" in g
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
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


def sample_translation_run(params: dict[str, Any], spec: RunSpec) -> None:
    """Write samples.npz and grid.png (triptychs) for one translation run (empty, marked files if it did not finish)."""
    run_dir = spec.dir
    status = read_json(run_dir / "status.json")
    if status["status"] != "finished":
        save_npz(run_dir / "samples.npz", x=np.zeros((0,), np.float32), status=np.array(status["status"]))
        save_text_image(run_dir / "grid.png", f"{spec.name}\n{status['status']} at step {status['step']}")
        return
    ev = params["eval"]
    device = pick_device(params["train"].get("device", "auto"))
    g, _, _ = load_translators(run_dir, device)
    arrays = translate_test_set(g, params, spec.dataset, device, int(ev.get("sample_seed", 0)))
    save_npz(run_dir / "samples.npz", **arrays, status=np.array("finished"))
    save_triptych(run_dir / "grid.png", arrays, n=int(ev.get("grid_size", 8)), title=spec.name)
