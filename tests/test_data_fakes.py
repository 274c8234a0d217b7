"""Small files in the datasets' original formats (IDX .gz, CIFAR pickle tar.gz, images, zip/tar archives).

Helpers for the tests of `gangrid.data`: they write tiny stand-ins for the
published files, served to the sources through `file://` mirrors or repository
folders, so no test reaches the internet. The checks at the end test the fakes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from gangrid.data.idx import IDX_FILES, read_idx, write_idx


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def mirror(folder: Path) -> str:
    """A file:// base URL for a folder."""
    return Path(folder).resolve().as_uri() + "/"


def write_idx_set(folder: Path, n_train: int = 60, n_test: int = 20, size: int = 28, seed: int = 0) -> dict[str, np.ndarray]:
    """The four gzip'd IDX files of an MNIST-like set with random content; returns the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_x": rng.integers(0, 256, (n_train, size, size), dtype=np.uint8),
        "train_y": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_x": rng.integers(0, 256, (n_test, size, size), dtype=np.uint8),
        "test_y": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in IDX_FILES.items():
        (folder / name).write_bytes(gzip.compress(write_idx(arrays[key])))
    return arrays


def idx_checksums(folder: Path) -> dict[str, str]:
    return {name: sha256(folder / name) for name in IDX_FILES.values()}


def write_cifar_archive(path: Path, n_per_batch: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """A cifar-10-python.tar.gz with five tiny training batches, a test batch and batches.meta."""
    rng = np.random.default_rng(seed)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    xs, ys = [], []
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        def add(name: str, obj: object) -> None:
            data = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for b in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
            data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
            labels = rng.integers(0, 10, n_per_batch).tolist()
            add(b, {b"batch_label": b.encode(), b"labels": labels, b"data": data,
                    b"filenames": [f"{i}.png".encode() for i in range(n_per_batch)]})
            xs.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            ys.append(np.array(labels))
        add("batches.meta", {b"label_names": [n.encode() for n in names], b"num_vis": 3072})
    return {"train_x": np.concatenate(xs[:5]), "train_y": np.concatenate(ys[:5]), "test_x": xs[5], "test_y": ys[5],
            "names": names}


def png(array: np.ndarray) -> bytes:
    """PNG bytes of a uint8 HxW or HxWx3 array (lossless)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array.squeeze(-1) if array.ndim == 3 and array.shape[-1] == 1 else array).save(buf, format="PNG")
    return buf.getvalue()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def write_targz(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def random_images(n: int, h: int, w: int, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)


def test_fake_idx_files_are_gzip_idx(tmp_path):
    arrays = write_idx_set(tmp_path, n_train=5, n_test=3)
    raw = gzip.decompress((tmp_path / IDX_FILES["train_x"]).read_bytes())
    assert raw[:4] == bytes([0, 0, 0x08, 3]) and int.from_bytes(raw[4:8], "big") == 5
    np.testing.assert_array_equal(read_idx(tmp_path / IDX_FILES["test_x"]), arrays["test_x"])


def test_fake_cifar_archive_has_the_published_member_names(tmp_path):
    write_cifar_archive(tmp_path / "c.tar.gz", n_per_batch=2)
    with tarfile.open(tmp_path / "c.tar.gz") as tar:
        names = sorted(tar.getnames())
    assert names == sorted([f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)]
                           + ["cifar-10-batches-py/test_batch", "cifar-10-batches-py/batches.meta"])
