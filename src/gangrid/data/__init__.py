"""Dataset sources, registered by name: each knows how to fetch its raw files and read them.

A source is a class with two methods:
  - `fetch(cfg, raw_dir) -> dict` copies or downloads the raw files into `raw_dir`
    (verifying published checksums) and returns provenance for the manifest;
  - `read(cfg, raw_dir) -> RawDataset` parses those files into arrays.
Adding a dataset = one module with a registered source + a preset in params.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from gangrid.registry import Registry, import_submodules


@dataclass
class RawDataset:
    """Parsed raw data: uint8 NHWC images or float32 (N, D) points, with optional labels.

    `test_x`/`test_y` hold an official test split when the dataset has one;
    `meta` carries source facts the metrics need (e.g. mixture centres and std).
    """

    kind: str  # "image" or "points"
    x: np.ndarray
    y: np.ndarray | None = None
    test_x: np.ndarray | None = None
    test_y: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class Source(Protocol):
    """What a registered dataset source provides.

    `kind` is "image" or "points"; `native` gives the raw resolution, channels
    and number of classes (0 when unlabelled) so params can be checked before
    any data is fetched.
    """

    kind: str
    native: dict[str, int]

    def fetch(self, cfg: dict[str, Any], raw_dir: Path) -> dict[str, Any]: ...

    def read(self, cfg: dict[str, Any], raw_dir: Path) -> RawDataset: ...


SOURCES: Registry[type] = Registry("dataset source")


def get_source(name: str, key: str = "") -> Source:
    """Instantiate the source registered as `name` (all source modules are imported first)."""
    import_submodules(__name__)
    return SOURCES.get(name, key)()
