"""Paired `edges2<dataset>` sets (like pix2pix's edges2shoes): input = edge map, target = the image.

Derived offline from any image dataset (`base`, e.g. Fashion-MNIST or digits):
each image is brought to the configured shape, then its edge map is computed
there (so edges and image align pixel for pixel): Sobel gradient magnitude of
the grey image, divided by the image's largest magnitude, thresholded at
`threshold` -> white (255) edges on black (0); flat images have no edges. Labels are the base image's class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gangrid.data import SOURCES, RawDataset, RawPairs
from gangrid.data.derived import BASE_OPTION, base_fingerprint, check_base, fetch_base, read_base
from gangrid.errors import ConfigError

SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
DEFAULT_THRESHOLD = 0.25
MIN_MAGNITUDE = 1e-3  # below a 1-grey-level step (Sobel magnitude 4/255): float noise, not an edge


def sobel_magnitude(images: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude (float32 N, H, W) of uint8 NHWC images (grey by luma; edges replicated)."""
    x = torch.from_numpy(np.array(images, dtype=np.float32, order="C"))
    grey = x[..., 0] if x.shape[-1] == 1 else x[..., :3] @ torch.tensor([0.299, 0.587, 0.114])
    grey = F.pad(grey[:, None] / 255.0, (1, 1, 1, 1), mode="replicate")
    kernels = torch.stack([SOBEL_X, SOBEL_X.T])[:, None]
    g = F.conv2d(grey, kernels)
    return torch.sqrt(g[:, 0] ** 2 + g[:, 1] ** 2).numpy()


def edge_maps(images: np.ndarray, threshold: float = DEFAULT_THRESHOLD, channels: int = 1) -> np.ndarray:
    """Binary edge maps (uint8 NHWC, 255 = edge) of uint8 NHWC images, with `channels` channels."""
    mag = sobel_magnitude(images)
    peak = mag.reshape(len(mag), -1).max(axis=1, initial=0.0).reshape(-1, 1, 1)
    edges = np.where(mag >= np.maximum(threshold * peak, MIN_MAGNITUDE), 255, 0).astype(np.uint8)
    return np.repeat(edges[..., None], channels, axis=-1)


@SOURCES.register("edges2")
class Edges2:
    """Paired edge map -> image set derived from an image dataset (`base`)."""

    kind = "paired"
    native = {"resolution": 0, "channels": 1, "classes": 0}
    read_only = ("threshold",)
    options = {**BASE_OPTION, "threshold": f"edge threshold, a fraction of each image's largest gradient (default {DEFAULT_THRESHOLD})"}

    def check(self, cfg: dict[str, Any], key: str) -> None:
        """The base must be an image dataset; the threshold a fraction in (0, 1)."""
        check_base(cfg, key)
        t = cfg.get("threshold", DEFAULT_THRESHOLD)
        if not isinstance(t, (int, float)) or not 0 < t < 1:
            raise ConfigError(f"{key}.threshold: {t!r} is not a number in (0, 1)")

    def fingerprint(self, cfg: dict[str, Any]) -> Any:
        """The base dataset's fingerprint."""
        return base_fingerprint(cfg)

    def fetch(self, cfg: dict[str, Any], raw_dir: Path) -> dict[str, Any]:
        """The base dataset's raw files, under base/."""
        return fetch_base(cfg, raw_dir)

    def read(self, cfg: dict[str, Any], raw_dir: Path) -> RawPairs:
        """A = edge maps, B = the shaped base images (official splits of the base are kept)."""
        raw = read_base(cfg, raw_dir)
        t, c = float(cfg.get("threshold", DEFAULT_THRESHOLD)), raw.x.shape[-1]
        edges = lambda a: None if a is None else edge_maps(a, t, c)  # noqa: E731
        a = RawDataset(kind="image", x=edges(raw.x), y=raw.y, test_x=edges(raw.test_x), test_y=raw.test_y,
                       val_x=edges(raw.val_x), val_y=raw.val_y, shaped=True)
        meta = {**raw.meta, "domains": {"a": f"Sobel edge maps (threshold {t})", "b": f"{cfg['base']['source']} images"}}
        return RawPairs(kind="paired", a=a, b=raw, meta=meta)
