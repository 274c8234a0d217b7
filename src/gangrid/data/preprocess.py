"""The `preprocess` stage: raw data -> fixed-seed train/val/test splits at the configured shape."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gangrid.data import RawDataset, get_source
from gangrid.data.download import verify_raw
from gangrid.data.store import PROCESSED_DIR, RAW_DIR, SPLITS
from gangrid.errors import DataError
from gangrid.io import sha256_file, write_json

DEFAULT_SPLIT = {"val": 0.1, "test": 0.2, "seed": 0}


def convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """NHWC uint8 images with `channels` channels (grey -> RGB by repetition, RGB -> grey by luma)."""
    have = images.shape[-1]
    if have == channels:
        return images
    if have == 1 and channels == 3:
        return np.repeat(images, 3, axis=-1)
    if have in (3, 4) and channels == 1:
        luma = images[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        return np.rint(luma).clip(0, 255).astype(np.uint8)[..., None]
    raise DataError(f"cannot convert {have}-channel images to {channels} channels")


def resize_images(images: np.ndarray, resolution: int, mode: str = "resize") -> np.ndarray:
    """NHWC uint8 -> NCHW uint8 at resolution x resolution.

    mode: `resize` (bilinear, antialiased, aspect squashed), `pad` (centre zero-pad
    to a square then resize), `crop` (centre crop to a square then resize).
    """
    n, h, w, c = images.shape
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    if mode == "crop" and h != w:
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        x = x[:, :, top : top + s, left : left + s]
    elif mode == "pad" and h != w:
        s = max(h, w)
        ph, pw = s - h, s - w
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
    elif mode not in ("resize", "crop", "pad"):
        raise DataError(f"unknown resize mode '{mode}' (known: resize, pad, crop)")
    if x.shape[-2:] != (resolution, resolution):
        out = []
        for chunk in torch.split(x, 4096):
            out.append(F.interpolate(chunk, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=True))
        x = torch.cat(out)
    return x.round().clamp(0, 255).to(torch.uint8).numpy()


def split_indices(n: int, val: float, test: float, seed: int) -> dict[str, np.ndarray]:
    """Disjoint, sorted train/val/test index sets from a fixed-seed permutation of range(n)."""
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test))
    n_val = int(round(n * val))
    if n - n_test - n_val < 1:
        raise DataError(f"split fractions val={val}, test={test} leave no training data out of {n}")
    return {
        "test": np.sort(perm[:n_test]),
        "val": np.sort(perm[n_test : n_test + n_val]),
        "train": np.sort(perm[n_test + n_val :]),
    }


def make_splits(raw: RawDataset, split_cfg: dict[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """train/val/test arrays: the official test split when there is one, else a fixed-seed split."""
    cfg = {**DEFAULT_SPLIT, **(split_cfg or {})}
    if raw.test_x is not None:
        idx = split_indices(len(raw.x), cfg["val"], 0.0, cfg["seed"])
        out = {s: (raw.x[idx[s]], None if raw.y is None else raw.y[idx[s]]) for s in ("train", "val")}
        out["test"] = (raw.test_x, raw.test_y)
        return out
    idx = split_indices(len(raw.x), cfg["val"], cfg["test"], cfg["seed"])
    return {s: (raw.x[idx[s]], None if raw.y is None else raw.y[idx[s]]) for s in SPLITS}


def shape_images(x: np.ndarray, cfg: dict[str, Any]) -> np.ndarray:
    """NHWC uint8 -> NCHW uint8 with the dataset's channels and resolution."""
    channels = cfg.get("channels", x.shape[-1])
    x = convert_channels(x, channels)
    resolution = cfg.get("resolution", x.shape[1])
    return resize_images(x, resolution, cfg.get("resize", "resize"))


def preprocess(name: str, cfg: dict[str, Any], raw_root: Path = RAW_DIR, out_root: Path = PROCESSED_DIR) -> Path:
    """Build data/processed/<name>/ from data/raw/<name>/ (written atomically as a directory)."""
    raw_dir = raw_root / name
    if not (raw_dir / "manifest.json").exists():
        raise DataError(f"missing {raw_dir / 'manifest.json'}: run `gangrid download {name}` first")
    verify_raw(raw_dir)
    raw = get_source(cfg["source"], f"datasets.{name}.source").read(cfg, raw_dir)
    if raw.kind == "image":
        raw.x = shape_images(raw.x, cfg)
        if raw.test_x is not None:
            raw.test_x = shape_images(raw.test_x, cfg)
    splits = make_splits(raw, cfg.get("split", {}))

    out_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out_root))
    try:
        files: dict[str, Any] = {}
        for split, (x, y) in splits.items():
            for suffix, arr in (("x", x), ("y", y)):
                if arr is None:
                    continue
                path = tmp / f"{split}_{suffix}.npy"
                np.save(path, np.ascontiguousarray(arr))
                files[path.name] = {"shape": list(arr.shape), "dtype": str(arr.dtype), "sha256": sha256_file(path)}
        manifest = {
            "dataset": name,
            "kind": raw.kind,
            "splits": {s: int(len(splits[s][0])) for s in SPLITS},
            "labels": raw.y is not None,
            "files": files,
            "meta": raw.meta,
            "model_values": "(x - 127.5) / 127.5 in [-1, 1]" if raw.kind == "image" else "raw coordinates",
        }
        if raw.kind == "image":
            manifest["shape"] = list(splits["train"][0].shape[1:])
        write_json(tmp / "manifest.json", manifest)
        final = out_root / name
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        return final
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
