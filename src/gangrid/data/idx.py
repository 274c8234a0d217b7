"""The IDX format of MNIST-like datasets, and a source base for sets shipped as four IDX .gz files.

IDX (LeCun et al.): two zero bytes, a type byte (0x08 = unsigned byte), the
number of dimensions, then each dimension as a big-endian uint32, then the data
in C order. MNIST and Fashion-MNIST ship train/t10k images and labels as gzip'd
IDX files, with md5 checksums of the .gz files published (as torchvision lists them).
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np

from gangrid.data import RawDataset, key_of
from gangrid.data.remote import REMOTE_OPTIONS, Verifier, digest_algorithm, fetch_file, file_digest
from gangrid.errors import DataError

IDX_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
IDX_FILES = {
    "train_x": "train-images-idx3-ubyte.gz",
    "train_y": "train-labels-idx1-ubyte.gz",
    "test_x": "t10k-images-idx3-ubyte.gz",
    "test_y": "t10k-labels-idx1-ubyte.gz",
}


def parse_idx(data: bytes, origin: str = "IDX data") -> np.ndarray:
    """Decode IDX bytes into an array; a DataError naming `origin` if the bytes are not valid IDX."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise DataError(f"{origin}: not an IDX file (bad magic number)")
    dtype, ndim = IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{origin}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(f"{origin}: IDX header says {shape} ({expected} bytes) but {len(data) - header} bytes follow")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(array: np.ndarray) -> bytes:
    """Encode an array as IDX bytes (the inverse of `parse_idx`)."""
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
    code = codes.get(np.dtype(array.dtype).newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzip'd when its name ends in .gz)."""
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    return parse_idx(data, str(path))


def content_sha256(path: Path) -> str:
    """sha256 of a gzip file's decompressed bytes."""
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable gzip file ({exc})") from None
    return digest.hexdigest()


class IdxSource:
    """Four gzip'd IDX files (train/t10k images and labels), checksummed, with an official test split.

    A file passes if its md5 is the published one, or if its decompressed bytes have
    the published sha256 (a re-compressed copy such as Debian's), or if it matches
    params `checksums.<file>` when that is set.
    """

    kind = "image"
    native = {"resolution": 28, "channels": 1, "classes": 10}
    options = dict(REMOTE_OPTIONS)
    title = "IDX dataset"
    published_md5: dict[str, str] = {}
    published_content_sha256: dict[str, str] = {}
    mirrors: list[str] = []
    class_names: list[str] = []

    def verifier(self, cfg: dict[str, Any], filename: str) -> Verifier:
        """The check a copy of `filename` must pass (see the class docstring)."""
        override = (cfg.get("checksums") or {}).get(filename)

        def verify(path: Path, origin: str) -> str:
            if override:
                algorithm = digest_algorithm(override)
                actual = file_digest(path, algorithm)
                if actual == override.lower():
                    return f"{algorithm}:{actual}"
                raise DataError(f"{origin}: {algorithm} {actual} does not match {key_of('checksums')}.{filename} = {override}")
            md5 = file_digest(path, "md5")
            if md5 == self.published_md5.get(filename):
                return f"md5:{md5}"
            inner = self.published_content_sha256.get(filename)
            if inner and content_sha256(path) == inner:
                return f"content-sha256:{inner}"
            raise DataError(
                f"{origin}: md5 {md5} does not match the published {self.published_md5.get(filename)} "
                f"(nor does its decompressed content match the published sha256); the file is corrupt or not {self.title}"
            )

        return verify

    def system_dir(self, cfg: dict[str, Any]) -> tuple[Path, str] | None:
        """A folder of a system package holding the four files, and its description (None: no such package)."""
        return None

    def missing_hint(self) -> str:
        """What the user can do when no copy of the files could be obtained."""
        return f"or set {key_of('path')} to a repository folder holding the four IDX .gz files"

    def fetch(self, cfg: dict[str, Any], raw_dir: Path) -> dict[str, Any]:
        """Copy the four files from params `path`, a system package, or the mirrors; verify each."""
        system = None if cfg.get("path") else self.system_dir(cfg)
        files = []
        for filename in IDX_FILES.values():
            verify = self.verifier(cfg, filename)
            if system is not None:
                src = system[0] / filename
                shutil.copyfile(src, raw_dir / filename)
                files.append({"file": filename, "from": str(src), "checksum": verify(raw_dir / filename, str(src))})
                continue
            try:
                files.append(fetch_file(cfg, filename, raw_dir, self.mirrors, verify=verify))
            except DataError as exc:
                raise DataError(f"{self.title}: {exc}; {self.missing_hint()}") from None
        return {"dataset": self.title, "via": system[1] if system else "download", "files": files}

    def read(self, cfg: dict[str, Any], raw_dir: Path) -> RawDataset:
        """Images as uint8 NHWC (N, 28, 28, 1), labels int64, with the official t10k test split."""
        arrays = {name: read_idx(raw_dir / filename) for name, filename in IDX_FILES.items()}
        for split in ("train", "test"):
            x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
            if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
                raise DataError(f"{raw_dir}: {split} images {x.shape} and labels {y.shape} do not match")
        return RawDataset(
            kind="image",
            x=arrays["train_x"][..., None],
            y=arrays["train_y"].astype(np.int64),
            test_x=arrays["test_x"][..., None],
            test_y=arrays["test_y"].astype(np.int64),
            meta={"classes": self.native["classes"], "class_names": list(self.class_names)},
        )
