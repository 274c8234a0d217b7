"""Dataset sources, registered by name: each knows how to fetch its raw files and read them.

A source is a class with:
  - `kind`: "image", "points", "paired" or "unpaired" (the last two: image-to-image sets);
  - `native`: raw resolution, channels and number of classes (0 = unlabelled or
    unknown until read; resolution 0 = must be set in params);
  - `options`: the source-specific params keys it accepts, with a one-line doc each;
    optionally `read_only`: those of them that only change how raw files are read
    (changing them needs no new download);
  - `fetch(cfg, raw_dir) -> dict` copies or downloads the raw files into `raw_dir`
    (verifying published checksums) and returns provenance for the manifest;
  - `read(cfg, raw_dir) -> RawDataset | RawPairs` parses those files into arrays;
  - optionally `check(cfg, key)`: extra checks of its params (raise ConfigError naming the key);
  - optionally `fingerprint(cfg) -> Any`: a cheap summary of outside inputs (e.g. a
    user's image folder) whose change makes `download` fetch again.
Adding a dataset = one module with a registered source + a preset in presets/datasets.yaml.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol

import numpy as np

from gangrid.errors import ConfigError
from gangrid.registry import Registry, import_submodules

# params keys every dataset accepts (read by `preprocess`, not by the sources).
COMMON_OPTIONS = {
    "source": "registered source name",
    "resolution": "output height = width in pixels",
    "channels": "output channels, 1 or 3",
    "resize": "how to make images square: resize (squash), pad (centre zero-pad) or crop (centre crop)",
    "crop": "centre-crop a crop x crop window (native pixels) before resizing, e.g. 140 for CelebA",
    "split": "{val, test, seed}: fixed-seed split fractions (official splits are used where they exist)",
    "description": "free text",
}
PREPROCESS_KEYS = ("resolution", "channels", "resize", "crop", "split", "description")


@dataclass
class RawDataset:
    """Parsed raw data: uint8 NHWC images or float32 (N, D) points, with optional int64 labels.

    `test_x`/`test_y` (and `val_x`/`val_y`) hold an official split when the dataset
    has one; `shaped` is True when the source already brought images to the
    configured channels and resolution (sources that decode image files one by one);
    `meta` carries source facts the metrics need (e.g. mixture centres and std).
    """

    kind: str  # "image" or "points"
    x: np.ndarray
    y: np.ndarray | None = None
    test_x: np.ndarray | None = None
    test_y: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    val_x: np.ndarray | None = None
    val_y: np.ndarray | None = None
    shaped: bool = False


@dataclass
class RawPairs:
    """An image-to-image set: domain A (input) and domain B (target), each an image RawDataset.

    kind "paired": a and b have the same length in every split and item i of a
    corresponds to item i of b (labels, when present, are shared).
    kind "unpaired": the two domains are independent collections.
    """

    kind: str  # "paired" or "unpaired"
    a: RawDataset
    b: RawDataset
    meta: dict[str, Any] = field(default_factory=dict)
    balance: bool = False  # unpaired: subsample the larger domain of each split to the smaller one's size


class Source(Protocol):
    """What a registered dataset source provides (see the module docstring)."""

    kind: str
    native: dict[str, int]
    options: dict[str, str]

    def fetch(self, cfg: dict[str, Any], raw_dir: Path) -> dict[str, Any]: ...

    def read(self, cfg: dict[str, Any], raw_dir: Path) -> RawDataset | RawPairs: ...


SOURCES: Registry[type] = Registry("dataset source")

# The params key of the dataset being fetched or read, so sources can name it in errors.
_CURRENT_KEY: ContextVar[str] = ContextVar("dataset_key", default="datasets.<dataset>")


@contextlib.contextmanager
def dataset_key(key: str) -> Iterator[None]:
    """Within the block, `key_of` names options under `key` (e.g. `datasets.fashion_mnist`)."""
    token = _CURRENT_KEY.set(key)
    try:
        yield
    finally:
        _CURRENT_KEY.reset(token)


def key_of(option: str = "") -> str:
    """The full params key of `option` of the dataset being processed, for error messages."""
    base = _CURRENT_KEY.get()
    return f"{base}.{option}" if option else base


def get_source(name: str, key: str = "") -> Source:
    """Instantiate the source registered as `name` (all source modules are imported first)."""
    import_submodules(__name__)
    return SOURCES.get(name, key)()


def check_dataset_cfg(name: str, cfg: dict[str, Any], key: str | None = None) -> Source:
    """The source of dataset `name`; a ConfigError naming the key for an unknown source or option."""
    key = key or f"datasets.{name}"
    if not isinstance(cfg, dict) or "source" not in cfg:
        raise ConfigError(f"{key}: a dataset needs a 'source' (known: {', '.join(list_sources())})")
    source = get_source(cfg["source"], f"{key}.source")
    allowed = {**COMMON_OPTIONS, **getattr(source, "options", {})}
    for option in cfg:
        if option not in allowed:
            raise ConfigError(
                f"{key}.{option}: unknown option for source '{cfg['source']}' (known: {', '.join(sorted(allowed))})"
            )
    if source.kind != "points" and not cfg.get("resolution") and not source.native.get("resolution"):
        raise ConfigError(f"{key}.resolution: source '{cfg['source']}' has no fixed size; set a resolution")
    check = getattr(source, "check", None)
    if check is not None:
        check(cfg, key)
    return source


def list_sources() -> list[str]:
    """Names of all registered dataset sources."""
    import_submodules(__name__)
    return SOURCES.names()
