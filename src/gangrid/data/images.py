"""Decoding image files (folders, zip and tar archives) into uint8 arrays at the configured shape.

Image files come in every size and mode, so each is decoded with Pillow,
converted to the configured channels, and shaped (crop / pad / resize) on its
own; the results stack into one uint8 NHWC array (a `RawDataset` with
`shaped=True`). Archives are read in memory, never extracted to disk.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

import numpy as np

from gangrid.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def is_image_name(name: str) -> bool:
    """Whether a file name has an image extension (hidden files excluded)."""
    base = PurePosixPath(name).name
    return not base.startswith(".") and PurePosixPath(base).suffix.lower() in IMAGE_EXTENSIONS


def decode_image(data: bytes, origin: str, channels: int = 3) -> np.ndarray:
    """Image bytes -> uint8 HWC array with 1 (grey) or 3 (RGB) channels; a DataError naming `origin`."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            array = np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{origin}: not a readable image ({exc})") from None
    return array[..., None] if array.ndim == 2 else array


def decode_shaped(data: bytes, origin: str, cfg: dict[str, Any]) -> np.ndarray:
    """Decode one image and bring it to the dataset's channels and resolution (HWC uint8)."""
    from gangrid.data.preprocess import shape_image

    image = decode_image(data, origin, int(cfg.get("channels", 3)))
    try:
        return shape_image(image, cfg)
    except DataError as exc:
        raise DataError(f"{origin}: {exc}") from None


def stack(images: list[np.ndarray], cfg: dict[str, Any]) -> np.ndarray:
    """Stack shaped HWC images into NHWC (an empty (0, R, R, C) array when there are none)."""
    if images:
        return np.stack(images)
    r = int(cfg.get("resolution", 0))
    return np.zeros((0, r, r, int(cfg.get("channels", 3))), dtype=np.uint8)


class Archive:
    """Read-only access to the members of a .zip or .tar(.gz) archive by POSIX name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            if zipfile.is_zipfile(path):
                self._zip: zipfile.ZipFile | None = zipfile.ZipFile(path)
                self._tar: tarfile.TarFile | None = None
                self.names = [n for n in self._zip.namelist() if not n.endswith("/")]
            else:
                self._zip = None
                self._tar = tarfile.open(path, "r:*")
                self._members = {m.name: m for m in self._tar.getmembers() if m.isfile()}
                self.names = list(self._members)
        except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DataError(f"{path}: not a readable zip or tar archive ({exc})") from None

    def read(self, name: str) -> bytes:
        """The bytes of member `name`."""
        try:
            if self._zip is not None:
                return self._zip.read(name)
            fh = self._tar.extractfile(self._members[name])  # type: ignore[union-attr]
            return fh.read() if fh is not None else b""
        except (KeyError, tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DataError(f"{self.path}:{name}: cannot read ({exc})") from None

    def images(self) -> Iterator[str]:
        """Sorted names of the image members."""
        return iter(sorted(n for n in self.names if is_image_name(n)))

    def close(self) -> None:
        """Close the underlying archive file."""
        (self._zip or self._tar).close()  # type: ignore[union-attr]

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
