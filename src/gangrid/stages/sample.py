"""The `sample` stage: a trained run -> samples.npz (N uint8 images or float points) + grid.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gangrid.checkpoints import load_checked
from gangrid.config import RunSpec, config_hash
from gangrid.data.store import to_uint8
from gangrid.io import read_json, save_npz
from gangrid.nets import DataSpec
from gangrid.plotting import save_image_grid, save_points_plot, save_text_image
from gangrid.stages.train import build_trainer
from gangrid.train import pick_device, sample_latent


def load_generator(run_dir: Path, device: torch.device) -> tuple[torch.nn.Module, dict[str, Any], DataSpec]:
    """The sampling generator (EMA weights when used) of a finished run, its config and data spec."""
    config = read_json(run_dir / "config.json")
    trainer = build_trainer(config, device, optimizers=False)
    payload = load_checked(run_dir / "checkpoint.pt", config_hash(config))
    trainer.load_state_dict(payload["state"], restore_rng=False)
    return trainer.sampling_generator(), config, trainer.data


@torch.no_grad()
def generate(g: torch.nn.Module, data: DataSpec, z_dim: int, n: int, seed: int, device: torch.device, batch: int = 500) -> tuple[np.ndarray, np.ndarray | None]:
    """n samples from fixed-seed noise; labels cycle through the classes for conditional nets.

    The global RNGs are seeded too (and restored afterwards): noise drawn inside the generator
    (StyleGAN's per-layer noise) must not depend on what ran before in the process.
    """
    gen = torch.Generator().manual_seed(seed)
    xs, ys = [], []
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for i in range(0, n, batch):
            b = min(batch, n - i)
            z = sample_latent(g, b, z_dim, device, generator=gen)
            y = (torch.arange(i, i + b) % data.n_classes).to(device) if data.n_classes else None
            x = g(z, y)
            xs.append(to_uint8(x).cpu().numpy() if data.kind == "image" else x.float().cpu().numpy())
            if y is not None:
                ys.append(y.cpu().numpy())
    return np.concatenate(xs), (np.concatenate(ys) if ys else None)


def sample_run(params: dict[str, Any], spec: RunSpec) -> None:
    """Write samples.npz and grid.png for one run (an empty, marked file for a diverged run)."""
    if params["studies"][spec.study].get("kind") == "translation":  # translated test inputs: gangrid.translation
        from gangrid.translation.sample import sample_translation_run

        return sample_translation_run(params, spec)
    run_dir = spec.dir
    status = read_json(run_dir / "status.json")
    ev = params["eval"]
    if status["status"] != "finished":
        save_npz(run_dir / "samples.npz", x=np.zeros((0,), np.float32), status=np.array(status["status"]))
        save_text_image(run_dir / "grid.png", f"{spec.name}\n{status['status']} at step {status['step']}")
        return
    device = pick_device(params["train"].get("device", "auto"))
    g, config, data = load_generator(run_dir, device)
    x, y = generate(g, data, int(config["train"]["z_dim"]), int(ev["n_samples"]), int(ev.get("sample_seed", 0)), device)
    arrays = {"x": x, "status": np.array("finished")}
    if y is not None:
        arrays["y"] = y
    save_npz(run_dir / "samples.npz", **arrays)
    if data.kind == "image":
        n = int(ev.get("grid_size", 8)) ** 2
        save_image_grid(run_dir / "grid.png", x[:n])
    else:
        from gangrid.data.store import read_manifest

        meta = read_manifest(spec.dataset)["meta"]
        save_points_plot(run_dir / "grid.png", x[:2500], np.asarray(meta.get("centers", [])), title=spec.name)
