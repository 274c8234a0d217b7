"""A user's folder of images (any size, any Pillow-readable format), copied into the raw folder.

params: `path` (relative to the repository; absolute paths and '..' are refused),
`resolution` (required), `channels` (default 3), `labels`: `auto` (default) makes
first-level subfolders classes (as torchvision's ImageFolder does) when every
image lies in one, `none` ignores them. Splits are fixed-seed (no official split).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from gangrid.config import safe_relpath
from gangrid.data import SOURCES, RawDataset, key_of
from gangrid.data.images import decode_image, decode_shaped, is_image_name, stack
from gangrid.errors import ConfigError, DataError

IMAGES = "images"


def folder_root(cfg: dict[str, Any]) -> Path:
    """The configured folder, checked to be a folder inside the repository (the working directory)."""
    value = cfg.get("path")
    if not value:
        raise ConfigError(f"{key_of('path')}: the folder source needs a path (relative to the repository)")
    root = Path(safe_relpath(str(value), key_of("path")))
    if not root.is_dir():
        raise DataError(f"{key_of('path')}: folder '{value}' does not exist (relative to {Path.cwd()})")
    repo = Path.cwd().resolve()
    if not root.resolve().is_relative_to(repo):
        raise ConfigError(f"{key_of('path')}: folder '{value}' leads outside the repository (a symlink?)")
    return root


def image_files(root: Path) -> list[Path]:
    """Image files under `root`, sorted by relative path; links leading outside the repository are refused."""
    repo = Path.cwd().resolve()
    files = sorted(p for p in root.rglob("*") if p.is_file() and is_image_name(p.name))
    for p in files:
        if not p.resolve().is_relative_to(repo):
            raise DataError(f"{p}: links outside the repository; copy the image into {root} instead")
    if not files:
        raise DataError(f"{key_of('path')}: no image files under '{root}'")
    return files


def folder_labels(rel_paths: list[Path], mode: str) -> tuple[np.ndarray | None, list[str]]:
    """Class labels from first-level subfolders (mode auto), or none; mixed layouts are a DataError."""
    if mode == "none":
        return None, []
    nested = [len(p.parts) > 1 for p in rel_paths]
    if not any(nested):
        return None, []
    if not all(nested):
        raise DataError(
            f"{key_of('path')}: some images lie in subfolders (classes) and some do not; "
            f"move them all into class subfolders or set {key_of('labels')}: none"
        )
    names = sorted({p.parts[0] for p in rel_paths})
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[p.parts[0]] for p in rel_paths], dtype=np.int64), names


@SOURCES.register("folder")
class Folder:
    """Images of a repository folder, optionally labelled by subfolder."""

    kind = "image"
    native = {"resolution": 0, "channels": 3, "classes": 0}
    read_only = ("labels",)
    options = {
        "path": "folder of images, relative to the repository",
        "labels": "auto (first-level subfolders are classes) or none",
    }

    def check(self, cfg: dict[str, Any], key: str) -> None:
        """The path must stay inside the repository; labels must be auto or none."""
        if not cfg.get("path"):
            raise ConfigError(f"{key}.path: the folder source needs a path (relative to the repository)")
        safe_relpath(str(cfg["path"]), f"{key}.path")
        if cfg.get("labels", "auto") not in ("auto", "none"):
            raise ConfigError(f"{key}.labels: '{cfg['labels']}' is not one of auto, none")

    def fingerprint(self, cfg: dict[str, Any]) -> list[list[Any]]:
        """Relative path, size and modification time of every image: adding or editing one refetches."""
        root = folder_root(cfg)
        return [[p.relative_to(root).as_posix(), p.stat().st_size, p.stat().st_mtime_ns] for p in image_files(root)]

    def fetch(self, cfg: dict[str, Any], raw_dir: Path) -> dict[str, Any]:
        """Copy every readable image into raw/<dataset>/images/, keeping relative paths."""
        root = folder_root(cfg)
        files = image_files(root)
        for p in files:
            decode_image(p.read_bytes(), str(p))  # refuse unreadable files before anything is kept
            dest = raw_dir / IMAGES / p.relative_to(root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest)
        return {"folder": str(cfg["path"]), "images": len(files)}

    def read(self, cfg: dict[str, Any], raw_dir: Path) -> RawDataset:
        """Decode and shape every image; labels from subfolders when there are some."""
        root = raw_dir / IMAGES
        files = sorted(p for p in root.rglob("*") if p.is_file())
        rel = [p.relative_to(root) for p in files]
        y, names = folder_labels(rel, cfg.get("labels", "auto"))
        x = stack([decode_shaped(p.read_bytes(), str(p), cfg) for p in files], cfg)
        meta: dict[str, Any] = {"classes": len(names), "class_names": names} if names else {"classes": 0}
        return RawDataset(kind="image", x=x, y=y, meta=meta, shaped=True)
