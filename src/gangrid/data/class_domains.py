"""Unpaired two-domain sets from two class groups of an image dataset (e.g. sneakers <-> sandals).

Derived offline from `base` (e.g. Fashion-MNIST): domain A = images whose label
is in `domain_a`, domain B = those in `domain_b` (class indices or class names).
The base's official splits are kept; with `balance` (default true) each split
keeps equally many A and B images (the larger domain subsampled with a fixed
seed), as CycleGAN-style training prefers balanced domains.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gangrid.data import SOURCES, RawDataset, RawPairs, key_of
from gangrid.data.derived import BASE_OPTION, DerivedSource, check_base, read_base
from gangrid.errors import ConfigError, DataError


def class_ids(spec: Any, names: list[str], option: str) -> list[int]:
    """Class indices from a list of indices and/or class names."""
    if not isinstance(spec, list) or not spec:
        raise ConfigError(f"{key_of(option)}: expected a non-empty list of class indices or names")
    out = []
    for item in spec:
        if isinstance(item, int) and not isinstance(item, bool):
            out.append(item)
        elif isinstance(item, str) and item in names:
            out.append(names.index(item))
        else:
            known = ", ".join(names) if names else "none (use indices)"
            raise ConfigError(f"{key_of(option)}: unknown class {item!r} (class names: {known})")
    return out


def select(raw: RawDataset, ids: list[int]) -> RawDataset:
    """The images of `raw` whose label is in `ids`, in every split."""
    def pick(x: np.ndarray | None, y: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        if x is None or y is None:
            return x, y
        keep = np.isin(y, ids)
        return x[keep], y[keep]

    x, y = pick(raw.x, raw.y)
    vx, vy = pick(raw.val_x, raw.val_y)
    tx, ty = pick(raw.test_x, raw.test_y)
    return RawDataset(kind="image", x=x, y=y, test_x=tx, test_y=ty, val_x=vx, val_y=vy, shaped=True)


@SOURCES.register("class_domains")
class ClassDomains(DerivedSource):
    """Unpaired domains A and B = two groups of classes of a labelled image dataset (`base`)."""

    kind = "unpaired"
    native = {"resolution": 0, "channels": 1, "classes": 0}
    read_only = ("domain_a", "domain_b", "balance")
    options = {
        **BASE_OPTION,
        "domain_a": "classes (indices or names) of domain A",
        "domain_b": "classes (indices or names) of domain B",
        "balance": "equal numbers of A and B images in each split (default true)",
    }

    def check(self, cfg: dict[str, Any], key: str) -> None:
        """The base must be an image dataset; both domains must be given."""
        check_base(cfg, key)
        for option in ("domain_a", "domain_b"):
            if not cfg.get(option):
                raise ConfigError(f"{key}.{option}: missing (a list of class indices or names)")

    def read(self, cfg: dict[str, Any], raw_dir: Path) -> RawPairs:
        """Domain A and B images (with their original class labels)."""
        raw = read_base(cfg, raw_dir)
        if raw.y is None:
            raise DataError(f"{key_of('base')}: the base dataset has no labels to pick classes from")
        names = list(raw.meta.get("class_names", []))
        ids_a = class_ids(cfg.get("domain_a"), names, "domain_a")
        ids_b = class_ids(cfg.get("domain_b"), names, "domain_b")
        if set(ids_a) & set(ids_b):
            raise ConfigError(f"{key_of('domain_b')}: classes {sorted(set(ids_a) & set(ids_b))} are in both domains")
        a, b = select(raw, ids_a), select(raw, ids_b)
        for domain, part in (("domain_a", a), ("domain_b", b)):
            if len(part.x) == 0:
                raise DataError(f"{key_of(domain)}: no image of these classes in the base dataset")
        label = lambda ids: " + ".join(names[i] if i < len(names) else str(i) for i in ids)  # noqa: E731
        meta = {"domains": {"a": label(ids_a), "b": label(ids_b)}, "classes_a": ids_a, "classes_b": ids_b,
                "class_names": names}
        return RawPairs(kind="unpaired", a=a, b=b, meta=meta, balance=bool(cfg.get("balance", True)))
