"""`gangrid translate`: translate a folder of images with a trained translation run.

Images of the training size go through the generator once. Larger images are cut into
overlapping windows of the training size (stride = size * (1 - overlap), the last window
flush with the border), each window is translated, and the outputs are blended with
pyramid weights (highest at a window's centre), so window seams do not show.
Images smaller than the training size are reflection-padded to it and cropped back.
Outputs are PNGs named after the inputs, with the inputs' size and the model's channels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from gangrid.config import RunSpec
from gangrid.data.store import to_model, to_uint8
from gangrid.errors import UserError
from gangrid.io import atomic_path, read_json

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
Translator = Callable[[torch.Tensor], torch.Tensor]


def window_starts(length: int, size: int, stride: int) -> list[int]:
    """Start offsets of windows of `size` covering [0, length): every `stride`, the last one flush with the end."""
    if length <= size:
        return [0]
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] != length - size:
        starts.append(length - size)
    return starts


def pyramid_weights(size: int) -> torch.Tensor:
    """(size, size) blending weights: min(distance to the border + 1) per axis, outer product (all > 0)."""
    ramp = torch.minimum(torch.arange(1, size + 1), torch.arange(size, 0, -1)).double()
    return torch.outer(ramp, ramp)


@torch.no_grad()
def sliding_window(g: Translator, x: torch.Tensor, size: int, overlap: float = 0.5, batch: int = 256) -> torch.Tensor:
    """Translate one (C, H, W) model-space image with windows of `size`, blended where they overlap."""
    c, h, w = x.shape
    pad_h, pad_w = max(0, size - h), max(0, size - w)
    if pad_h or pad_w:  # smaller than a window: reflect-pad (replicate where the image is too small to reflect)
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        x = F.pad(x[None], (0, pad_w, 0, pad_h), mode=mode)[0]
    ph, pw = x.shape[1:]
    stride = max(1, int(round(size * (1.0 - overlap))))
    tops, lefts = window_starts(ph, size, stride), window_starts(pw, size, stride)
    coords = [(t, l) for t in tops for l in lefts]
    weight = pyramid_weights(size).to(x.device)
    out = None
    norm = torch.zeros(ph, pw, dtype=torch.float64, device=x.device)
    for i in range(0, len(coords), batch):
        chunk = coords[i : i + batch]
        y = g(torch.stack([x[:, t : t + size, l : l + size] for t, l in chunk])).double()
        if out is None:
            out = torch.zeros(y.shape[1], ph, pw, dtype=torch.float64, device=x.device)
        for (t, l), win in zip(chunk, y):
            out[:, t : t + size, l : l + size] += win * weight
            norm[t : t + size, l : l + size] += weight
    assert out is not None
    return (out / norm)[:, :h, :w].float()


def list_images(folder: Path) -> list[Path]:
    """Image files directly in `folder`, sorted by name."""
    if not folder.is_dir():
        raise UserError(f"input folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{folder}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    return files


def read_image(path: Path, channels: int) -> np.ndarray:
    """A uint8 CHW image with `channels` channels (grey or RGB)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            arr = np.asarray(img.convert("L" if channels == 1 else "RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise UserError(f"{path}: cannot read the image ({exc})") from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def write_image(path: Path, image: np.ndarray) -> None:
    """Write a uint8 CHW image as a PNG, atomically."""
    from PIL import Image

    hwc = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(hwc)).save(tmp, format="PNG")


def translate_folder(params: dict[str, Any], spec: RunSpec, input_dir: Path, output_dir: Path, direction: str = "ab",
                     overlap: float = 0.5, seed: int | None = None) -> list[Path]:
    """Translate every image of `input_dir` into `output_dir` (PNG, same names); returns the written paths."""
    from gangrid.kinds import load_finished_run, study_kind
    from gangrid.runtime import pick_device, seeded_torch

    if study_kind(params["studies"][spec.study]) != "translation":
        raise UserError(f"study '{spec.study}' is not a translation study (studies.{spec.study}.kind: translation)")
    if not 0 <= overlap < 1:
        raise UserError(f"--overlap: {overlap} is not in [0, 1)")
    status = read_json(spec.files.status)
    if status["status"] != "finished":
        raise UserError(f"run {spec.study}/{spec.name} did not finish ({status['status']} at step {status['step']})")
    files = list_images(Path(input_dir))
    stems = [p.stem for p in files]
    clash = sorted({s for s in stems if stems.count(s) > 1})
    if clash:
        raise UserError(f"{input_dir}: several images would be written as {clash[0]}.png (same name, other suffix)")
    device = pick_device(params["train"].get("device", "auto"))
    trainer = load_finished_run(spec.files.dir, device)
    g = trainer.sampling_generator()
    if direction not in g:
        raise UserError(f"--direction {direction}: run {spec.name} translates {', '.join(g.keys())} only")
    channels, size = trainer.data.shape[0], min(trainer.data.shape[1:])
    seed = int(params["eval"].get("sample_seed", 0)) if seed is None else seed
    written = []
    with seeded_torch(seed, device):  # pix2pix keeps dropout on at test time
        for path in files:
            x = to_model(read_image(path, channels)).to(device)
            y = sliding_window(g[direction], x, size, overlap)
            out = Path(output_dir) / f"{path.stem}.png"
            write_image(out, to_uint8(y).cpu().numpy())
            written.append(out)
    return written
