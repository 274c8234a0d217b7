"""The image-to-image archives of pix2pix and CycleGAN: `facades` (paired) and `horse2zebra` (unpaired).

Two archive layouts are read (zip or tar.gz, in memory, never extracted):
  - CycleGAN: `<name>/{train,val,test}{A,B}/<image>` (A and B folders);
    for a paired set, A and B images pair up by file name (a trailing _A / _B is ignored);
  - pix2pix:  `<name>/{train,val,test}/<image>`, each image = A (left half) | B (right half).
Archive splits are official: `test` (and `val` if present) are kept, a missing
val is carved from train with the fixed seed. `direction: BtoA` swaps the
domains so that A is always the model's input. The archives are checked against
the sha256 that TensorFlow Datasets publishes for the CycleGAN downloads; the
generic `pix2pix_archive` / `cyclegan_archive` sources take any such archive
given its file name (`archive`), `mirrors` and `checksums`.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from gangrid.data import SOURCES, RawDataset, RawPairs, key_of
from gangrid.data.images import Archive, decode_image, decode_shaped, stack
from gangrid.data.remote import REMOTE_OPTIONS, fetch_file
from gangrid.errors import ConfigError, DataError

SPLIT_NAMES = ("train", "val", "test")
_FOLDERS = re.compile(r"(?:^|/)(train|val|test)(A|B)/[^/]+$")
_SIDE_BY_SIDE = re.compile(r"(?:^|/)(train|val|test)/[^/]+$")
CYCLEGAN_MIRRORS = [
    "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/",
    "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/",
]


def scan_layout(names: list[str]) -> tuple[str, dict[tuple[str, str], list[str]]]:
    """The archive's layout ("folders" or "side_by_side") and its image names per (split, domain)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name in names:
        m = _FOLDERS.search(name)
        if m:
            groups.setdefault((m.group(1), m.group(2)), []).append(name)
    if groups:
        return "folders", {k: sorted(v) for k, v in groups.items()}
    for name in names:
        m = _SIDE_BY_SIDE.search(name)
        if m:
            groups.setdefault((m.group(1), "AB"), []).append(name)
    if groups:
        return "side_by_side", {k: sorted(v) for k, v in groups.items()}
    raise DataError("archive has neither {train,test}A/ + {train,test}B/ folders nor train/ and test/ folders of images")


def pair_key(name: str) -> str:
    """File stem without a trailing _A / _B: the key that pairs an A image with its B image."""
    return re.sub(r"_[AB]$", "", PurePosixPath(name).stem)


def split_halves(image: np.ndarray, origin: str) -> tuple[np.ndarray, np.ndarray]:
    """Left and right halves of a side-by-side A|B image."""
    w = image.shape[1]
    if w % 2:
        raise DataError(f"{origin}: width {w} is odd; not a side-by-side A|B pair")
    return image[:, : w // 2], image[:, w // 2 :]


def _raw(splits: dict[str, np.ndarray]) -> RawDataset:
    return RawDataset(kind="image", x=splits["train"], test_x=splits.get("test"), val_x=splits.get("val"), shaped=True)


class TranslationArchive:
    """An image-to-image archive, fetched with its checksum and read in either layout."""

    kind = "paired"
    native = {"resolution": 0, "channels": 3, "classes": 0}
    archive: str | None = None
    published_sha256: str | None = None
    mirrors: list[str] = []
    title = "image-to-image archive"
    default_direction = "AtoB"
    read_only = ("direction", "balance")
    options = {
        **REMOTE_OPTIONS,
        "archive": "archive file name on the mirrors (zip or tar.gz)",
        "direction": "AtoB (archive's A is the input) or BtoA (its B is the input)",
    }

    def archive_name(self, cfg: dict[str, Any]) -> str:
        """The archive's file name (params `archive` or the dataset's default)."""
        name = cfg.get("archive", self.archive)
        if not name:
            raise ConfigError(f"{key_of('archive')}: set the archive's file name (e.g. facades.tar.gz)")
        return str(name)

    def check(self, cfg: dict[str, Any], key: str) -> None:
        """A plain archive file name and a known direction."""
        name = cfg.get("archive", self.archive)
        if not name or "/" in str(name) or str(name).startswith("."):
            raise ConfigError(f"{key}.archive: '{name}' is not a plain file name")
        if cfg.get("direction", self.default_direction) not in ("AtoB", "BtoA"):
            raise ConfigError(f"{key}.direction: '{cfg['direction']}' is not AtoB or BtoA")

    def fetch(self, cfg: dict[str, Any], raw_dir: Path) -> dict[str, Any]:
        """The archive from `path` or the mirrors, checked against its published (or configured) checksum."""
        name = self.archive_name(cfg)
        published = self.published_sha256 if name == self.archive else None
        return {"dataset": self.title, "files": [fetch_file(cfg, name, raw_dir, self.mirrors, published=published)]}

    def _domains(self, archive: Archive, cfg: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        layout, groups = scan_layout(list(archive.images()))
        a: dict[str, np.ndarray] = {}
        b: dict[str, np.ndarray] = {}
        for split in SPLIT_NAMES:
            if layout == "side_by_side":
                names = groups.get((split, "AB"), [])
                if not names:
                    continue
                if self.kind != "paired":
                    raise DataError(f"{archive.path}: side-by-side A|B images make a paired set, not an unpaired one")
                halves = [split_halves(decode_image(archive.read(n), n, int(cfg.get("channels", 3))), n) for n in names]
                from gangrid.data.preprocess import shape_image

                a[split] = stack([shape_image(h[0], cfg) for h in halves], cfg)
                b[split] = stack([shape_image(h[1], cfg) for h in halves], cfg)
                continue
            names_a, names_b = groups.get((split, "A"), []), groups.get((split, "B"), [])
            if not names_a and not names_b:
                continue
            if not names_a or not names_b:
                raise DataError(f"{archive.path}: split '{split}' has images in only one of the A and B folders")
            if self.kind == "paired":
                keys_a, keys_b = {pair_key(n): n for n in names_a}, {pair_key(n): n for n in names_b}
                if set(keys_a) != set(keys_b):
                    odd = sorted(set(keys_a) ^ set(keys_b))[:3]
                    raise DataError(f"{archive.path}: {split}A and {split}B do not pair up by file name (e.g. {odd})")
                names_a, names_b = [keys_a[k] for k in sorted(keys_a)], [keys_b[k] for k in sorted(keys_a)]
            a[split] = stack([decode_shaped(archive.read(n), n, cfg) for n in names_a], cfg)
            b[split] = stack([decode_shaped(archive.read(n), n, cfg) for n in names_b], cfg)
        if "train" not in a:
            raise DataError(f"{archive.path}: no training images")
        return a, b

    def read(self, cfg: dict[str, Any], raw_dir: Path) -> RawPairs:
        """Domains A (input) and B (target), shaped, in the archive's splits."""
        with Archive(raw_dir / self.archive_name(cfg)) as archive:
            a, b = self._domains(archive, cfg)
        names = {"a": "archive A", "b": "archive B"}
        if cfg.get("direction", self.default_direction) == "BtoA":
            a, b = b, a
            names = {"a": "archive B", "b": "archive A"}
        meta = {"classes": 0, "domains": names, "archive": self.archive_name(cfg)}
        return RawPairs(kind=self.kind, a=_raw(a), b=_raw(b), meta=meta, balance=bool(cfg.get("balance", False)))


class _Unpaired(TranslationArchive):
    kind = "unpaired"
    options = {**TranslationArchive.options, "balance": "equal numbers of A and B images in each split (default false)"}


@SOURCES.register("facades")
class Facades(TranslationArchive):
    """CMP Facades as pix2pix uses it (400 train / 106 test pairs), from the CycleGAN download.

    In the pix2pix convention A = photo and B = label map, and pix2pix trains
    facades BtoA (labels -> photo): hence the default direction BtoA.
    """

    title = "facades"
    archive = "facades.zip"
    published_sha256 = "9a31ebf3a31b9b5cd195dd5bf62e9308e00cb94604d1019e3889ac84248695c0"
    mirrors = CYCLEGAN_MIRRORS
    default_direction = "BtoA"


@SOURCES.register("horse2zebra")
class Horse2Zebra(_Unpaired):
    """CycleGAN's horse2zebra (1067 horses / 1334 zebras train, 120 / 140 test), unpaired."""

    title = "horse2zebra"
    archive = "horse2zebra.zip"
    published_sha256 = "a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1"
    mirrors = CYCLEGAN_MIRRORS


@SOURCES.register("pix2pix_archive")
class Pix2PixArchive(TranslationArchive):
    """Any paired pix2pix/CycleGAN-layout archive: set `archive`, `mirrors` and `checksums`."""

    title = "pix2pix archive"


@SOURCES.register("cyclegan_archive")
class CycleGanArchive(_Unpaired):
    """Any unpaired CycleGAN-layout archive: set `archive`, `mirrors` (default CycleGAN's) and `checksums`."""

    title = "CycleGAN archive"
    mirrors = CYCLEGAN_MIRRORS
