"""CIFAR-10 (Krizhevsky 2009): 60000 32x32 colour images of 10 classes, 50000/10000 train/test.

The "python version" archive `cifar-10-python.tar.gz` is downloaded (or copied
from params `path`) and checked against the md5 torchvision publishes; the
pickled batches are read straight from the archive with an unpickler that only
accepts plain containers and numpy arrays (no arbitrary code from a pickle).
"""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from gangrid.data import SOURCES, RawDataset
from gangrid.data.remote import REMOTE_OPTIONS, fetch_file
from gangrid.errors import DataError

ARCHIVE = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"

# What a CIFAR batch pickle may reference: numpy's array reconstruction and the
# latin-1 bytes encoding that protocol-2 pickles written by Python 3 use; nothing else.
_ALLOWED_GLOBALS = {
    ("_codecs", "encode"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def load_batch(data: bytes, origin: str) -> dict[str, Any]:
    """Unpickle one CIFAR batch (Python 2 pickles: bytes keys) into a dict with str keys."""
    try:
        batch = _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # UnpicklingError, EOFError, ValueError, ...
        raise DataError(f"{origin}: not a CIFAR batch ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if not isinstance(batch, dict):
        raise DataError(f"{origin}: not a CIFAR batch (a {type(batch).__name__}, not a dict)")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}


def batch_arrays(batch: dict[str, Any], origin: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 NHWC (N, 32, 32, 3) images and int64 labels of one batch (rows: 1024 R, 1024 G, 1024 B)."""
    try:
        data = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch["labels"], dtype=np.int64)
    except KeyError as exc:
        raise DataError(f"{origin}: CIFAR batch has no '{exc.args[0]}' entry") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise DataError(f"{origin}: expected (N, 3072) data and N labels, got {data.shape} and {labels.shape}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


@SOURCES.register("cifar10")
class Cifar10:
    """CIFAR-10 python archive, md5-checked, with the official test batch as test split."""

    kind = "image"
    native = {"resolution": 32, "channels": 3, "classes": 10}
    options = dict(REMOTE_OPTIONS)
    mirrors = ["https://www.cs.toronto.edu/~kriz/"]

    def fetch(self, cfg: dict[str, Any], raw_dir: Path) -> dict[str, Any]:
        """Copy or download the archive (checked against its published md5)."""
        return {"dataset": "CIFAR-10", "files": [fetch_file(cfg, ARCHIVE, raw_dir, self.mirrors, published=ARCHIVE_MD5)]}

    def read(self, cfg: dict[str, Any], raw_dir: Path) -> RawDataset:
        """The five training batches and the test batch, with the class names of batches.meta."""
        path = raw_dir / ARCHIVE
        batches: dict[str, dict[str, Any]] = {}
        try:
            with tarfile.open(path, "r:gz") as tar:
                for name in [*TRAIN_BATCHES, TEST_BATCH, "batches.meta"]:
                    member = f"{FOLDER}/{name}"
                    try:
                        fh = tar.extractfile(member)
                    except KeyError:
                        fh = None
                    if fh is None:
                        if name == "batches.meta":
                            continue
                        raise DataError(f"{path}: archive has no {member}")
                    batches[name] = load_batch(fh.read(), f"{path}:{member}")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DataError(f"{path}: not a readable tar.gz archive ({exc})") from None
        train = [batch_arrays(batches[n], f"{path}:{n}") for n in TRAIN_BATCHES]
        test_x, test_y = batch_arrays(batches[TEST_BATCH], f"{path}:{TEST_BATCH}")
        names = batches.get("batches.meta", {}).get("label_names", [])
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
        return RawDataset(
            kind="image",
            x=np.concatenate([x for x, _ in train]),
            y=np.concatenate([y for _, y in train]),
            test_x=test_x,
            test_y=test_y,
            meta={"classes": 10, "class_names": names},
        )
