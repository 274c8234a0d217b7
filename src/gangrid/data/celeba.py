"""CelebA (Liu et al. 2015), aligned & cropped: 202599 178x218 face photos, official train/val/test.

Files (md5 as torchvision publishes them): `img_align_celeba.zip` and
`list_eval_partition.txt` (0 = train 162770, 1 = val 19867, 2 = test 19962).
They come from params `path` or `mirrors` when set, else from the authors'
Google Drive through torchvision's helper (often over quota: then download them
by hand and set `path`). Images are decoded from the zip one by one, centre
cropped (`crop`, e.g. 140 or 108 as in DCGAN) and resized to `resolution`.
Unlabelled (the 40 binary attributes are not class labels).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gangrid.data import SOURCES, RawDataset, key_of
from gangrid.data.images import Archive, decode_shaped
from gangrid.data.remote import REMOTE_OPTIONS, checksum_verifier, fetch_file
from gangrid.errors import DataError

IMAGES_ZIP = "img_align_celeba.zip"
PARTITION = "list_eval_partition.txt"
# (Google Drive id, md5, file name), as torchvision.datasets.CelebA lists them.
FILES = [
    ("0B7EVK8r0v71pZjFTYXZWM3FlRnM", "00d2c5bc6d35e252742224ab0c1e8fcb", IMAGES_ZIP),
    ("0B7EVK8r0v71pY0NSMzRuSXJEVkk", "d32c9cbf5e040fd4025c592c306e6668", PARTITION),
]
SPLIT_CODES = {"0": "train", "1": "val", "2": "test"}


def read_partition(text: str, origin: str) -> dict[str, list[str]]:
    """Image names per split from list_eval_partition.txt ("000001.jpg 0" lines)."""
    out: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for i, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in SPLIT_CODES:
            raise DataError(f"{origin}:{i}: expected '<image> <0|1|2>', got '{line.strip()}'")
        out[SPLIT_CODES[parts[1]]].append(parts[0])
    return out


def _from_google_drive(file_id: str, md5: str, filename: str, raw_dir: Path, cfg: dict[str, Any]) -> dict[str, str]:
    from torchvision.datasets.utils import download_file_from_google_drive

    origin = f"Google Drive file {file_id}"
    try:
        download_file_from_google_drive(file_id, str(raw_dir), filename)
    except Exception as exc:  # network errors, quota pages, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"CelebA: could not download {filename} from {origin} ({first[:200]}); download it by hand and "
            f"set {key_of('path')} to the repository folder holding {IMAGES_ZIP} and {PARTITION}"
        ) from None
    verify = checksum_verifier(cfg, filename, md5)
    return {"file": filename, "from": origin, "checksum": verify(raw_dir / filename, origin)}


@SOURCES.register("celeba")
class CelebA:
    """Aligned CelebA faces, md5-checked, with the official partition as train/val/test."""

    kind = "image"
    native = {"resolution": 0, "channels": 3, "classes": 0}
    options = dict(REMOTE_OPTIONS)

    def fetch(self, cfg: dict[str, Any], raw_dir: Path) -> dict[str, Any]:
        """The image zip and the partition list from `path`, `mirrors`, or Google Drive."""
        files = []
        for file_id, md5, filename in FILES:
            if cfg.get("path") or cfg.get("mirrors"):
                files.append(fetch_file(cfg, filename, raw_dir, [], published=md5))
            else:
                files.append(_from_google_drive(file_id, md5, filename, raw_dir, cfg))
        return {"dataset": "CelebA (aligned)", "files": files}

    def read(self, cfg: dict[str, Any], raw_dir: Path) -> RawDataset:
        """Every listed image, cropped and resized, in the official splits."""
        partition = read_partition((raw_dir / PARTITION).read_text(), str(raw_dir / PARTITION))
        r, c = int(cfg["resolution"]), int(cfg.get("channels", 3))
        arrays: dict[str, np.ndarray] = {}
        with Archive(raw_dir / IMAGES_ZIP) as archive:
            members = {Path(n).name: n for n in archive.images()}
            for split, names in partition.items():
                out = np.empty((len(names), r, r, c), dtype=np.uint8)
                for i, name in enumerate(names):
                    if name not in members:
                        raise DataError(f"{raw_dir / IMAGES_ZIP}: no image {name} (listed in {PARTITION})")
                    out[i] = decode_shaped(archive.read(members[name]), f"{IMAGES_ZIP}:{name}", cfg)
                arrays[split] = out
        return RawDataset(
            kind="image", x=arrays["train"], val_x=arrays["val"], test_x=arrays["test"],
            meta={"classes": 0}, shaped=True,
        )
