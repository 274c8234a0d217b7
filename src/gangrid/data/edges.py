"""Paired `edges2<dataset>` sets (like pix2pix's edges2shoes): input = edge map, target = the image.

Derived offline from any image dataset (`base`, e.g. Fashion-MNIST or digits): each image is
brought to the configured shape, then its edge map is computed there (so edges and image
align pixel for pixel), white (255) edges on black (0); flat images have no edges. Labels are
the base image's class. Two operators (`edges:`):

* `canny` (default): thin contours, one pixel wide, as in the edges2shoes / edges2handbags
  sets (Isola et al. 2017 took HED edges thinned to one pixel): Canny (1986) on the grey
  image: Gaussian smoothing (`sigma`), Sobel gradients, non-maximum suppression across the
  gradient direction, then hysteresis: pixels above `high` x the image's largest gradient are
  edges, and so are pixels above `low` x it connected (8-neighbourhood) to one.
* `sobel`: the thresholded Sobel magnitude (`threshold` x the image's largest gradient), which
  marks whole transition bands (solid outlines two or more pixels thick on small images).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from gangrid.data import SOURCES, RawDataset, RawPairs
from gangrid.data.derived import BASE_OPTION, DerivedSource, check_base, read_base
from gangrid.errors import ConfigError

SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
DEFAULT_THRESHOLD = 0.25
MIN_MAGNITUDE = 1e-3  # below a 1-grey-level step (Sobel magnitude 4/255): float noise, not an edge
OPERATORS = ("canny", "sobel")
CANNY_DEFAULTS = {"sigma": 0.5, "low": 0.1, "high": 0.3}
# neighbour offsets (dy, dx) across the gradient, for the 4 quantised gradient directions 0, 45, 90, 135 degrees
NMS_OFFSETS = ((0, 1), (1, 1), (1, 0), (1, -1))


def grey_images(images: np.ndarray) -> torch.Tensor:
    """uint8 NHWC images -> float32 (N, 1, H, W) grey in [0, 1] (luma for colour images)."""
    x = torch.from_numpy(np.array(images, dtype=np.float32, order="C"))
    grey = x[..., 0] if x.shape[-1] == 1 else x[..., :3] @ torch.tensor([0.299, 0.587, 0.114])
    return grey[:, None] / 255.0


def sobel_gradients(grey: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(gx, gy), each (N, H, W), of (N, 1, H, W) images (borders replicated)."""
    g = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), torch.stack([SOBEL_X, SOBEL_X.T])[:, None])
    return g[:, 0], g[:, 1]


def sobel_magnitude(images: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude (float32 N, H, W) of uint8 NHWC images (grey by luma; edges replicated)."""
    gx, gy = sobel_gradients(grey_images(images))
    return torch.sqrt(gx**2 + gy**2).numpy()


def _peaks(mag: np.ndarray) -> np.ndarray:
    """Each image's largest gradient magnitude, shaped (N, 1, 1)."""
    return mag.reshape(len(mag), -1).max(axis=1, initial=0.0).reshape(-1, 1, 1)


def sobel_edges(images: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Boolean (N, H, W): Sobel magnitude >= threshold x the image's largest magnitude."""
    mag = sobel_magnitude(images)
    return mag >= np.maximum(threshold * _peaks(mag), MIN_MAGNITUDE)


def gaussian_blur(grey: torch.Tensor, sigma: float) -> torch.Tensor:
    """(N, 1, H, W) images smoothed by a Gaussian of std `sigma` px (radius 3 sigma, borders replicated)."""
    if sigma <= 0:
        return grey
    r = max(1, int(np.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    x = F.conv2d(F.pad(grey, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))


def non_maximum_suppression(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Gradient magnitude (N, H, W) where a pixel is a maximum across its edge (along its quantised gradient
    direction), 0 elsewhere: what thins a transition band to a one-pixel contour."""
    mag = np.hypot(gx, gy)
    angle = (np.rad2deg(np.arctan2(gy, gx)) + 180.0) % 180.0
    sector = (np.round(angle / 45.0).astype(int)) % 4
    padded = np.pad(mag, ((0, 0), (1, 1), (1, 1)))
    h, w = mag.shape[1:]
    keep = np.zeros(mag.shape, bool)
    for k, (dy, dx) in enumerate(NMS_OFFSETS):
        ahead = padded[:, 1 + dy: 1 + dy + h, 1 + dx: 1 + dx + w]
        behind = padded[:, 1 - dy: 1 - dy + h, 1 - dx: 1 - dx + w]
        keep |= (sector == k) & (mag >= ahead) & (mag > behind)
    return np.where(keep, mag, 0.0)


def hysteresis(thin: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Boolean edges: pixels of `thin` >= `high`, and those >= `low` 8-connected to one of them."""
    weak = thin >= low
    strong = thin >= high
    out = np.zeros(thin.shape, bool)
    structure = np.ones((3, 3), bool)
    for i in range(len(thin)):
        labels, n = ndimage.label(weak[i], structure=structure)
        if n:
            keep = np.zeros(n + 1, bool)
            keep[np.unique(labels[strong[i]])] = True
            keep[0] = False
            out[i] = keep[labels]
    return out


def canny_edges(images: np.ndarray, sigma: float = CANNY_DEFAULTS["sigma"], low: float = CANNY_DEFAULTS["low"],
                high: float = CANNY_DEFAULTS["high"]) -> np.ndarray:
    """Boolean (N, H, W) one-pixel contours of uint8 NHWC images (Canny 1986; thresholds are fractions of each
    image's largest gradient after smoothing)."""
    gx, gy = (g.numpy().astype(np.float64) for g in sobel_gradients(gaussian_blur(grey_images(images), sigma)))
    thin = non_maximum_suppression(gx, gy)
    peak = np.maximum(_peaks(np.hypot(gx, gy)), MIN_MAGNITUDE)
    return hysteresis(thin, np.maximum(low * peak, MIN_MAGNITUDE), np.maximum(high * peak, MIN_MAGNITUDE))


def edge_maps(images: np.ndarray, threshold: float = DEFAULT_THRESHOLD, channels: int = 1, operator: str = "canny",
              **canny: float) -> np.ndarray:
    """Binary edge maps (uint8 NHWC, 255 = edge) of uint8 NHWC images, with `channels` channels: `operator` canny
    (thin contours; `sigma`, `low`, `high`) or sobel (`threshold`)."""
    edges = canny_edges(images, **canny) if operator == "canny" else sobel_edges(images, threshold)
    return np.repeat(np.where(edges, 255, 0).astype(np.uint8)[..., None], channels, axis=-1)


def edge_options(cfg: dict[str, Any]) -> dict[str, Any]:
    """The edge operator and its settings of an edges2 preset (defaults filled in)."""
    operator = cfg.get("edges", "canny")
    if operator == "sobel":
        return {"operator": "sobel", "threshold": float(cfg.get("threshold", DEFAULT_THRESHOLD))}
    return {"operator": "canny", **{k: float(cfg.get(k, v)) for k, v in CANNY_DEFAULTS.items()}}


@SOURCES.register("edges2")
class Edges2(DerivedSource):
    """Paired edge map -> image set derived from an image dataset (`base`)."""

    kind = "paired"
    native = {"resolution": 0, "channels": 1, "classes": 0}
    read_only = ("edges", "threshold", "sigma", "low", "high")
    options = {**BASE_OPTION,
               "edges": "edge operator: canny (thin contours, default) | sobel (thresholded gradient magnitude)",
               "threshold": f"sobel: edge threshold, a fraction of each image's largest gradient (default {DEFAULT_THRESHOLD})",
               "sigma": f"canny: Gaussian smoothing in px (default {CANNY_DEFAULTS['sigma']})",
               "low": f"canny: hysteresis low threshold, a fraction of the largest gradient (default {CANNY_DEFAULTS['low']})",
               "high": f"canny: hysteresis high threshold, a fraction of the largest gradient (default {CANNY_DEFAULTS['high']})"}

    def check(self, cfg: dict[str, Any], key: str) -> None:
        """The base must be an image dataset; the operator known; thresholds fractions in (0, 1), low <= high."""
        check_base(cfg, key)
        operator = cfg.get("edges", "canny")
        if operator not in OPERATORS:
            raise ConfigError(f"{key}.edges: {operator!r} is not one of {', '.join(OPERATORS)}")
        for name, default in (("threshold", DEFAULT_THRESHOLD), ("low", CANNY_DEFAULTS["low"]), ("high", CANNY_DEFAULTS["high"])):
            t = cfg.get(name, default)
            if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < 1:
                raise ConfigError(f"{key}.{name}: {t!r} is not a number in (0, 1)")
        if cfg.get("low", CANNY_DEFAULTS["low"]) > cfg.get("high", CANNY_DEFAULTS["high"]):
            raise ConfigError(f"{key}.low: must not exceed {key}.high ({cfg.get('low')} > {cfg.get('high')})")
        sigma = cfg.get("sigma", CANNY_DEFAULTS["sigma"])
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 <= sigma <= 5:
            raise ConfigError(f"{key}.sigma: {sigma!r} is not a number in [0, 5]")

    def read(self, cfg: dict[str, Any], raw_dir: Path) -> RawPairs:
        """A = edge maps, B = the shaped base images (official splits of the base are kept)."""
        raw = read_base(cfg, raw_dir)
        opts, c = edge_options(cfg), raw.x.shape[-1]
        edges = lambda a: None if a is None else edge_maps(a, channels=c, **opts)  # noqa: E731
        a = RawDataset(kind="image", x=edges(raw.x), y=raw.y, test_x=edges(raw.test_x), test_y=raw.test_y,
                       val_x=edges(raw.val_x), val_y=raw.val_y, shaped=True)
        how = ", ".join(f"{k} {v}" for k, v in opts.items() if k != "operator")
        meta = {**raw.meta, "domains": {"a": f"{opts['operator'].capitalize()} edge maps ({how})",
                                        "b": f"{cfg['base']['source']} images"}}
        return RawPairs(kind="paired", a=a, b=raw, meta=meta)
