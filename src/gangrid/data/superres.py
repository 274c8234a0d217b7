"""Super-resolution sets (`superres`, study kind `superres`): high-resolution images and their bicubic-downsampled inputs.

Derived offline from an image dataset (`base`, e.g. digits or CIFAR-10): the images brought to the
configured shape are the high-resolution (HR) targets, stored like an image set (`{split}_x.npy`
uint8 NCHW, `{split}_y.npy` labels) under manifest kind "superres" with meta `factor`. The
low-resolution (LR) input of an HR image is its bicubic downsampling by `factor` (2 or 4), the
SRGAN protocol: `downsample` (bicubic with antialiasing, rounded to uint8 like a stored image);
`bicubic_upsample` is the reference upsampler every SR table compares with. Both are functions of
the stored HR images, so every stage derives the same LR inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gangrid.data import SOURCES, RawDataset
from gangrid.data.derived import BASE_OPTION, DerivedSource, check_base, read_base
from gangrid.errors import ConfigError

DEFAULT_FACTOR = 4
FACTORS = (2, 4)


def _resize(images: np.ndarray, size: int, antialias: bool) -> np.ndarray:
    """uint8 NCHW images -> bicubic-resized to size x size, rounded and clamped to uint8."""
    x = torch.from_numpy(np.asarray(images, dtype=np.float32))
    out = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False, antialias=antialias)
    return out.round().clamp(0, 255).to(torch.uint8).numpy()


def downsample(hr: np.ndarray, factor: int) -> np.ndarray:
    """The LR inputs of uint8 NCHW HR images: bicubic downsampling by `factor` with antialiasing."""
    return _resize(hr, hr.shape[-1] // factor, antialias=True)


def bicubic_upsample(lr: np.ndarray, factor: int) -> np.ndarray:
    """The reference upsampler: bicubic interpolation of uint8 NCHW LR images by `factor` (uint8 out)."""
    return _resize(lr, lr.shape[-1] * factor, antialias=False)


@SOURCES.register("superres")
class SuperRes(DerivedSource):
    """HR images of a base image dataset for x2 / x4 super-resolution."""

    kind = "superres"
    native = {"resolution": 0, "channels": 1, "classes": 0}
    options = {**BASE_OPTION, "factor": "upsampling factor of the task, 2 or 4: the LR inputs are the HR images "
                                        "bicubic-downsampled by it"}
    read_only = ("factor",)

    def check(self, cfg: dict[str, Any], key: str) -> None:
        """An image base; factor 2 or 4 dividing the resolution."""
        check_base(cfg, key)
        factor = cfg.get("factor", DEFAULT_FACTOR)
        if factor not in FACTORS:
            raise ConfigError(f"{key}.factor: {factor!r} is not one of {', '.join(map(str, FACTORS))}")
        res = int(cfg.get("resolution") or 0)
        if res and (res % factor or res // factor < 4):
            raise ConfigError(f"{key}.factor: resolution {res} is not a multiple of {factor} with LR images of >= 4 px")

    def read(self, cfg: dict[str, Any], raw_dir: Path) -> RawDataset:
        """The shaped base images as NCHW HR targets (official splits kept), meta `factor`."""
        raw = read_base(cfg, raw_dir)
        nchw = lambda a: None if a is None else np.ascontiguousarray(a.transpose(0, 3, 1, 2))  # noqa: E731
        return RawDataset(kind="superres", x=nchw(raw.x), y=raw.y, test_x=nchw(raw.test_x), test_y=raw.test_y,
                          val_x=nchw(raw.val_x), val_y=raw.val_y, shaped=True,
                          meta={**raw.meta, "factor": int(cfg.get("factor", 4))})
