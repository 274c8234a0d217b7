"""Helpers for sources derived offline from another image source (edges2<dataset>, class domains).

A derived dataset's params carry `base`: the params of the image dataset it is
built from (e.g. `{source: fashion_mnist}`). Its raw folder holds the base's raw
files under `base/`, so it depends on no other dataset's outputs. The derived
dataset's own `resolution`, `channels`, `resize` and `crop` shape the base images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gangrid.data import RawDataset, RawPairs, Source, check_dataset_cfg, dataset_key, get_source, key_of
from gangrid.errors import ConfigError, DataError

BASE = "base"
SHAPE_KEYS = ("resolution", "channels", "resize", "crop")
BASE_OPTION = {"base": "params of the image dataset this set is derived from, e.g. {source: fashion_mnist}"}


def base_cfg(cfg: dict[str, Any]) -> dict[str, Any]:
    """The base dataset's params, with this dataset's shaping keys (resolution, channels, ...) applied."""
    base = cfg.get("base")
    if not isinstance(base, dict):
        raise ConfigError(f"{key_of('base')}: a derived dataset needs base: {{source: <image source>, ...}}")
    return {**base, **{k: cfg[k] for k in SHAPE_KEYS if k in cfg}}


def check_base(cfg: dict[str, Any], key: str) -> Source:
    """Check the base params (an image source with valid options); returns the base source."""
    source = check_dataset_cfg("base", base_cfg(cfg), key=f"{key}.base")
    if source.kind != "image":
        raise ConfigError(f"{key}.base.source: '{cfg['base']['source']}' is a {source.kind} source, not an image source")
    return source


def base_fingerprint(cfg: dict[str, Any]) -> Any:
    """The base source's fingerprint of outside inputs, if it has one."""
    source = get_source(cfg["base"]["source"], key_of("base.source"))
    fingerprint = getattr(source, "fingerprint", None)
    with dataset_key(key_of("base")):
        return fingerprint(base_cfg(cfg)) if fingerprint else None


def fetch_base(cfg: dict[str, Any], raw_dir: Path) -> dict[str, Any]:
    """Fetch the base dataset's raw files into raw_dir/base/; returns its provenance."""
    source = get_source(cfg["base"]["source"], key_of("base.source"))
    (raw_dir / BASE).mkdir()
    with dataset_key(key_of("base")):
        return {"base": {"source": cfg["base"]["source"], **source.fetch(base_cfg(cfg), raw_dir / BASE)}}


class DerivedSource:
    """Base of the sources built from another image source: their outside inputs and raw files are the base's."""

    def fingerprint(self, cfg: dict[str, Any]) -> Any:
        """The base dataset's fingerprint."""
        return base_fingerprint(cfg)

    def fetch(self, cfg: dict[str, Any], raw_dir: Path) -> dict[str, Any]:
        """The base dataset's raw files, under base/."""
        return fetch_base(cfg, raw_dir)


def read_base(cfg: dict[str, Any], raw_dir: Path) -> RawDataset:
    """The base dataset with every image array as uint8 NHWC at this dataset's shape (shaped=True)."""
    from gangrid.data.preprocess import shape_images

    bcfg = base_cfg(cfg)
    source = get_source(bcfg["source"], key_of("base.source"))
    with dataset_key(key_of("base")):
        raw = source.read(bcfg, raw_dir / BASE)
    if isinstance(raw, RawPairs) or raw.kind != "image":
        raise DataError(f"{key_of('base')}: the base dataset must be an image dataset")
    if not raw.shaped:
        fix = lambda a: None if a is None else np.ascontiguousarray(shape_images(a, bcfg).transpose(0, 2, 3, 1))  # noqa: E731
        raw.x, raw.val_x, raw.test_x = fix(raw.x), fix(raw.val_x), fix(raw.test_x)
        raw.shaped = True
    return raw
