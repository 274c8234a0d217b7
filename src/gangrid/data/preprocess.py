"""The `preprocess` stage: raw data -> fixed-seed train/val/test splits at the configured shape.

Image and point sets produce `{split}_x.npy` (+ `{split}_y.npy`); image-to-image
sets (kind paired/unpaired) produce `{split}_a.npy` / `{split}_b.npy` and their
labels (layout documented in `gangrid.data.store`). Every array is a plain .npy
(memory-mappable); the manifest lists shapes, dtypes, split sizes and sha256s.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gangrid.data import RawDataset, RawPairs, check_dataset_cfg, dataset_key
from gangrid.data.download import check_identity, verify_raw
from gangrid.data.store import PROCESSED_DIR, RAW_DIR, SPLITS
from gangrid.errors import DataError
from gangrid.io import sha256_file, write_json

DEFAULT_SPLIT = {"val": 0.1, "test": 0.2, "seed": 0}
MODEL_VALUES = "(x - 127.5) / 127.5 in [-1, 1]"
Arrays = tuple[np.ndarray, np.ndarray | None]


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
    if have == 4 and channels == 3:
        return images[..., :3]
    raise DataError(f"cannot convert {have}-channel images to {channels} channels")


def centre_crop(images: np.ndarray, size: int) -> np.ndarray:
    """The central size x size window of NHWC images (a DataError if they are smaller)."""
    h, w = images.shape[1:3]
    if size > min(h, w):
        raise DataError(f"crop {size} is larger than the {h}x{w} images")
    top, left = (h - size) // 2, (w - size) // 2
    return images[:, top : top + size, left : left + size]


def resize_images(images: np.ndarray, resolution: int, mode: str = "resize") -> np.ndarray:
    """NHWC uint8 -> NCHW uint8 at resolution x resolution.

    mode: `resize` (bilinear, antialiased, aspect squashed), `pad` (centre zero-pad
    to a square then resize), `crop` (centre crop to a square then resize).
    Images already at the resolution are returned unchanged (only transposed).
    """
    if mode not in ("resize", "crop", "pad"):
        raise DataError(f"unknown resize mode '{mode}' (known: resize, pad, crop)")
    n, h, w, c = images.shape
    if mode == "crop" and h != w:
        images = centre_crop(images, min(h, w))
        h = w = min(h, w)
    if (h, w) == (resolution, resolution):
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    images = np.ascontiguousarray(images) if images.flags.writeable else np.array(images, order="C")
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    if mode == "pad" and h != w:
        s = max(h, w)
        ph, pw = s - h, s - w
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
    if x.shape[-2:] != (resolution, resolution):
        out = []
        for chunk in torch.split(x, 4096):
            out.append(F.interpolate(chunk, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=True))
        x = torch.cat(out)
    return x.round().clamp(0, 255).to(torch.uint8).numpy()


def shape_images(x: np.ndarray, cfg: dict[str, Any]) -> np.ndarray:
    """NHWC uint8 -> NCHW uint8 with the dataset's channels, optional centre crop, and resolution."""
    x = convert_channels(x, int(cfg.get("channels", x.shape[-1])))
    if cfg.get("crop"):
        x = centre_crop(x, int(cfg["crop"]))
    resolution = int(cfg.get("resolution", x.shape[1]))
    return resize_images(x, resolution, cfg.get("resize", "resize"))


def shape_image(image: np.ndarray, cfg: dict[str, Any]) -> np.ndarray:
    """One HWC uint8 image -> HWC uint8 at the dataset's channels and resolution."""
    return shape_images(image[None], cfg)[0].transpose(1, 2, 0)


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


def split_plan(raw: RawDataset, split_cfg: dict[str, Any] | None) -> dict[str, np.ndarray | None]:
    """Indices into `raw.x` for each split, or None where the dataset's official split is used."""
    cfg = {**DEFAULT_SPLIT, **(split_cfg or {})}
    has_val, has_test = raw.val_x is not None, raw.test_x is not None
    idx = split_indices(len(raw.x), 0.0 if has_val else cfg["val"], 0.0 if has_test else cfg["test"], cfg["seed"])
    return {"train": idx["train"], "val": None if has_val else idx["val"], "test": None if has_test else idx["test"]}


def apply_plan(raw: RawDataset, plan: dict[str, np.ndarray | None]) -> dict[str, Arrays]:
    """Split arrays of `raw` following `plan` (official val/test arrays where the plan says None)."""
    out: dict[str, Arrays] = {}
    for split, idx in plan.items():
        if idx is None:
            out[split] = (raw.val_x, raw.val_y) if split == "val" else (raw.test_x, raw.test_y)
        else:
            out[split] = (raw.x[idx], None if raw.y is None else raw.y[idx])
    return out


def make_splits(raw: RawDataset, split_cfg: dict[str, Any] | None) -> dict[str, Arrays]:
    """train/val/test arrays: the official val/test splits when there are some, else fixed-seed ones."""
    return apply_plan(raw, split_plan(raw, split_cfg))


def shape_raw(raw: RawDataset, cfg: dict[str, Any]) -> RawDataset:
    """`raw` with every image array as NCHW uint8 at the configured shape (points unchanged)."""
    if raw.kind != "image":
        return raw
    if raw.shaped:
        fix = lambda a: None if a is None else np.ascontiguousarray(a.transpose(0, 3, 1, 2))  # noqa: E731
    else:
        fix = lambda a: None if a is None else shape_images(a, cfg)  # noqa: E731
    raw.x, raw.val_x, raw.test_x = fix(raw.x), fix(raw.val_x), fix(raw.test_x)
    return raw


def balance(a: Arrays, b: Arrays, seed: int) -> tuple[Arrays, Arrays]:
    """Subsample the larger of two domains (fixed seed, order kept) to the size of the smaller."""
    n = min(len(a[0]), len(b[0]))
    rng = np.random.default_rng(seed)

    def take(arrs: Arrays) -> Arrays:
        if len(arrs[0]) == n:
            return arrs
        keep = np.sort(rng.choice(len(arrs[0]), size=n, replace=False))
        return arrs[0][keep], None if arrs[1] is None else arrs[1][keep]

    return take(a), take(b)


def pair_splits(pairs: RawPairs, cfg: dict[str, Any]) -> dict[str, dict[str, Arrays]]:
    """Per split, the A and B arrays: paired sets share one split plan, unpaired domains are split apart."""
    split_cfg = cfg.get("split", {})
    a, b = shape_raw(pairs.a, cfg), shape_raw(pairs.b, cfg)
    if pairs.kind == "paired":
        if len(a.x) != len(b.x):
            raise DataError(f"paired set has {len(a.x)} A images but {len(b.x)} B images")
        plan = split_plan(a, split_cfg)
        sa, sb = apply_plan(a, plan), apply_plan(b, plan)
        return {s: {"a": sa[s], "b": sb[s]} for s in SPLITS}
    sa, sb = make_splits(a, split_cfg), make_splits(b, split_cfg)
    out = {}
    seed = int({**DEFAULT_SPLIT, **split_cfg}["seed"])
    for i, s in enumerate(SPLITS):
        da, db = balance(sa[s], sb[s], seed + 1 + i) if pairs.balance else (sa[s], sb[s])
        out[s] = {"a": da, "b": db}
    return out


def _save(tmp: Path, name: str, arr: np.ndarray, files: dict[str, Any]) -> None:
    path = tmp / f"{name}.npy"
    np.save(path, np.ascontiguousarray(arr))
    files[path.name] = {"shape": list(arr.shape), "dtype": str(arr.dtype), "sha256": sha256_file(path)}


def _write_single(tmp: Path, name: str, raw: RawDataset, cfg: dict[str, Any]) -> dict[str, Any]:
    splits = make_splits(shape_raw(raw, cfg), cfg.get("split", {}))
    files: dict[str, Any] = {}
    for split, (x, y) in splits.items():
        _save(tmp, f"{split}_x", x, files)
        if y is not None:
            _save(tmp, f"{split}_y", y.astype(np.int64), files)
    manifest = {
        "dataset": name,
        "kind": raw.kind,
        "splits": {s: int(len(splits[s][0])) for s in SPLITS},
        "labels": raw.y is not None,
        "files": files,
        "meta": raw.meta,
        "model_values": MODEL_VALUES if raw.kind == "image" else "raw coordinates",
    }
    if raw.kind == "image":
        manifest["shape"] = list(splits["train"][0].shape[1:])
    return manifest


def _write_pairs(tmp: Path, name: str, pairs: RawPairs, cfg: dict[str, Any]) -> dict[str, Any]:
    splits = pair_splits(pairs, cfg)
    files: dict[str, Any] = {}
    for split, domains in splits.items():
        (xa, ya), (xb, yb) = domains["a"], domains["b"]
        _save(tmp, f"{split}_a", xa, files)
        _save(tmp, f"{split}_b", xb, files)
        if pairs.kind == "paired" and ya is not None:
            _save(tmp, f"{split}_y", ya.astype(np.int64), files)
        elif pairs.kind == "unpaired":
            for suffix, y in (("y_a", ya), ("y_b", yb)):
                if y is not None:
                    _save(tmp, f"{split}_{suffix}", y.astype(np.int64), files)
    train_a, train_b = splits["train"]["a"][0], splits["train"]["b"][0]
    if train_a.shape[1:] != train_b.shape[1:]:
        raise DataError(f"domains A {train_a.shape[1:]} and B {train_b.shape[1:]} have different shapes")
    return {
        "dataset": name,
        "kind": pairs.kind,
        "splits": {s: {"a": int(len(splits[s]["a"][0])), "b": int(len(splits[s]["b"][0]))} for s in SPLITS},
        "labels": pairs.a.y is not None,
        "balanced": bool(pairs.balance),
        "files": files,
        "meta": pairs.meta,
        "model_values": MODEL_VALUES,
        "shape": list(train_a.shape[1:]),
    }


def preprocess(name: str, cfg: dict[str, Any], raw_root: Path = RAW_DIR, out_root: Path = PROCESSED_DIR) -> Path:
    """Build data/processed/<name>/ from data/raw/<name>/ (written atomically as a directory)."""
    with dataset_key(f"datasets.{name}"):
        source = check_dataset_cfg(name, cfg)
        raw_dir = raw_root / name
        if not (raw_dir / "manifest.json").exists():
            raise DataError(f"missing {raw_dir / 'manifest.json'}: run `gangrid download {name}` first")
        check_identity(name, verify_raw(raw_dir), cfg, source)
        raw = source.read(cfg, raw_dir)
        out_root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out_root))
        try:
            if isinstance(raw, RawPairs):
                manifest = _write_pairs(tmp, name, raw, cfg)
            else:
                manifest = _write_single(tmp, name, raw, cfg)
            write_json(tmp / "manifest.json", manifest)
            final = out_root / name
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
            return final
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
