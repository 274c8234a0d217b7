"""Dataset sources on small files in their original formats, served from file:// mirrors or repo folders.

IDX (MNIST / Fashion-MNIST), CIFAR pickle batches in a tar.gz, image folders,
CelebA's zip + partition list, pix2pix / CycleGAN archives; checksums (published
and recorded), one-line errors and no partial output on failure.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import gangrid.data.fashion_mnist as fashion_module
from gangrid.data.cifar10 import ARCHIVE as CIFAR_ARCHIVE, load_batch
from gangrid.data.download import MANIFEST, download
from gangrid.data.idx import IDX_FILES, parse_idx, read_idx, write_idx
from gangrid.data.preprocess import preprocess
from gangrid.data.store import load_split, load_translation, read_manifest
from gangrid.errors import ConfigError, DataError
from test_data_fakes import (idx_checksums, mirror, png, random_images, sha256, write_cifar_archive, write_idx_set,
                             write_targz, write_zip)

REPO = Path(__file__).resolve().parents[1]


def rows(x: np.ndarray) -> set[bytes]:
    return {np.ascontiguousarray(item).tobytes() for item in x}


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".")) if root.exists() else []


# ---------------------------------------------------------------- IDX
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(dtype):
    array = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    data = write_idx(array)
    assert data[:4] == bytes([0, 0, data[2], 3]) and data[4:8] == (2).to_bytes(4, "big")
    back = parse_idx(data)
    assert back.dtype == array.dtype and back.shape == (2, 3, 5)
    np.testing.assert_array_equal(back, array)


def test_idx_rejects_bad_magic_and_wrong_length():
    good = write_idx(np.zeros((2, 4), np.uint8))
    with pytest.raises(DataError, match="bad magic"):
        parse_idx(b"\x01" + good[1:], "f.idx")
    with pytest.raises(DataError, match=r"f.idx: IDX header says \(2, 4\)"):
        parse_idx(good[:-1], "f.idx")


def test_idx_reader_matches_zalandos_reader_on_the_debian_files():
    folder = fashion_module.debian_dir()
    if folder is None:
        pytest.skip("Debian package dataset-fashion-mnist is not installed (sudo apt-get install dataset-fashion-mnist)")
    reader = Path("/usr/share/doc/dataset-fashion-mnist/utils/mnist_reader.py")
    if not reader.exists():
        pytest.skip(f"Zalando's reference reader {reader} is missing")
    scope: dict = {}
    exec(compile(reader.read_text(), str(reader), "exec"), scope)  # the package's own reference reader
    ref_x, ref_y = scope["load_mnist"](str(folder), kind="t10k")
    x, y = read_idx(folder / IDX_FILES["test_x"]), read_idx(folder / IDX_FILES["test_y"])
    assert x.shape == (10000, 28, 28) and y.shape == (10000,)
    np.testing.assert_array_equal(x.reshape(10000, 784), ref_x)
    np.testing.assert_array_equal(y, ref_y)


def test_mnist_from_a_file_mirror_round_trips(in_tmp):
    arrays = write_idx_set(in_tmp / "srv", n_train=60, n_test=20)
    cfg = {"source": "mnist", "mirrors": [mirror(in_tmp / "srv")], "checksums": idx_checksums(in_tmp / "srv"),
           "split": {"val": 0.25, "seed": 3}}
    raw_dir = download("mnist", cfg)
    manifest = json.loads((raw_dir / MANIFEST).read_text())
    assert manifest["files"] == idx_checksums(in_tmp / "srv")  # sha256 of every raw file
    assert all(f["from"].startswith("file://") for f in manifest["provenance"]["files"])
    preprocess("mnist", cfg)
    m = read_manifest("mnist")
    assert m["splits"] == {"train": 45, "val": 15, "test": 20} and m["shape"] == [1, 28, 28]
    test = load_split("mnist", "test")
    np.testing.assert_array_equal(test.x[:, 0], arrays["test_x"])  # the official test split, unchanged
    np.testing.assert_array_equal(test.y, arrays["test_y"])
    train, val = load_split("mnist", "train"), load_split("mnist", "val")
    assert rows(train.x[:, 0]) | rows(val.x[:, 0]) == rows(arrays["train_x"])
    assert not rows(train.x) & rows(val.x)
    assert train.y.dtype == np.int64


def test_fashion_mnist_downloads_when_debian_is_not_used(in_tmp):
    write_idx_set(in_tmp / "srv")
    cfg = {"source": "fashion_mnist", "debian": False, "mirrors": [mirror(in_tmp / "srv")],
           "checksums": idx_checksums(in_tmp / "srv")}
    manifest = json.loads((download("fashion_mnist", cfg) / MANIFEST).read_text())
    assert manifest["provenance"]["via"] == "download"


def test_fashion_mnist_absent_everywhere_says_what_to_do(in_tmp, monkeypatch):
    monkeypatch.setattr(fashion_module, "debian_dir", lambda *a: None)
    cfg = {"source": "fashion_mnist", "mirrors": [mirror(in_tmp / "nowhere")]}
    with pytest.raises(DataError) as err:
        download("fashion_mnist", cfg)
    msg = str(err.value)
    assert "\n" not in msg
    assert "sudo apt-get install dataset-fashion-mnist" in msg and "datasets.fashion_mnist.path" in msg
    assert not (in_tmp / "data/raw/fashion_mnist").exists() and leftovers(in_tmp / "data/raw") == []


def test_published_checksum_is_enforced_without_partial_output(in_tmp):
    write_idx_set(in_tmp / "srv")  # random files: not the published MNIST
    with pytest.raises(DataError, match=r"md5 [0-9a-f]{32} does not match the published f68b3c2d"):
        download("mnist", {"source": "mnist", "mirrors": [mirror(in_tmp / "srv")]})
    assert not (in_tmp / "data/raw/mnist").exists() and leftovers(in_tmp / "data/raw") == []


def test_mismatch_on_rerun_is_a_clear_error_and_preprocess_writes_nothing(in_tmp):
    cfg = {"source": "digits", "resolution": 8}
    raw_dir = download("digits", cfg)
    with open(raw_dir / "digits.csv.gz", "ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(DataError, match=r"digits.csv.gz: sha256 .* does not match the manifest's .*delete data/raw/digits"):
        download("digits", cfg)
    with pytest.raises(DataError, match="does not match the manifest"):
        preprocess("digits", cfg)
    assert not (in_tmp / "data/processed/digits").exists() and leftovers(in_tmp / "data/processed") == []


def test_changed_params_fetch_again_and_stale_raw_is_refused(in_tmp):
    cfg = {"source": "grid25", "std": 0.05, "n_points": 500}
    first = np.load(download("grid", cfg) / "points.npz")["x"]
    stale = {**cfg, "std": 0.1}
    with pytest.raises(DataError, match=r"fetched with other params than datasets.grid: run `gangrid download grid`"):
        preprocess("grid", stale)
    second = np.load(download("grid", stale) / "points.npz")["x"]
    assert not np.allclose(first, second)
    preprocess("grid", {**stale, "split": {"val": 0.2, "test": 0.2, "seed": 1}})  # split keys need no refetch


def test_cli_checksum_mismatch_is_one_line(tmp_path):
    write_idx_set(tmp_path / "srv")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["datasets"]["fake_mnist"] = {"source": "mnist", "mirrors": [mirror(tmp_path / "srv")],
                                        "checksums": {IDX_FILES["train_x"]: "0" * 64}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = subprocess.run([sys.executable, "-m", "gangrid.cli", "download", "fake_mnist"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: MNIST: could not fetch train-images-idx3-ubyte.gz")
    assert "does not match" in lines[-1] and "Traceback" not in proc.stderr
    assert not (tmp_path / "data/raw/fake_mnist").exists()


# ---------------------------------------------------------------- CIFAR-10
def test_cifar10_pickle_batches_round_trip(in_tmp):
    fake = write_cifar_archive(in_tmp / "srv" / CIFAR_ARCHIVE, n_per_batch=8)
    cfg = {"source": "cifar10", "mirrors": [mirror(in_tmp / "srv")],
           "checksums": {CIFAR_ARCHIVE: sha256(in_tmp / "srv" / CIFAR_ARCHIVE)}, "split": {"val": 0.25, "seed": 0}}
    download("cifar10", cfg)
    preprocess("cifar10", cfg)
    m = read_manifest("cifar10")
    assert m["splits"] == {"train": 30, "val": 10, "test": 8} and m["shape"] == [3, 32, 32]
    assert m["meta"]["class_names"] == fake["names"]
    test = load_split("cifar10", "test")
    np.testing.assert_array_equal(test.x, fake["test_x"].transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(test.y, fake["test_y"])
    train, val = load_split("cifar10", "train"), load_split("cifar10", "val")
    assert rows(train.x) | rows(val.x) == rows(fake["train_x"].transpose(0, 3, 1, 2))


def test_cifar_unpickler_refuses_code():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(DataError, match="refusing to load"):
        load_batch(pickle.dumps({b"data": Evil()}, protocol=2), "evil_batch")


# ---------------------------------------------------------------- image folders
def test_folder_round_trip_with_class_subfolders(in_tmp):
    images = random_images(6, 16, 16, seed=1)
    for i, img in enumerate(images):
        path = in_tmp / "data/user" / ("cats" if i < 4 else "dogs") / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png(img))
    (in_tmp / "data/user/notes.txt").write_text("not an image")
    cfg = {"source": "folder", "path": "data/user", "resolution": 16, "channels": 3,
           "split": {"val": 0.0, "test": 0.5, "seed": 0}}
    raw = download("imgs", cfg)
    assert sorted(json.loads((raw / MANIFEST).read_text())["files"]) == [f"images/cats/{i}.png" for i in range(4)] + [
        "images/dogs/4.png", "images/dogs/5.png"]
    preprocess("imgs", cfg)
    m = read_manifest("imgs")
    assert m["meta"]["class_names"] == ["cats", "dogs"] and m["splits"] == {"train": 3, "val": 0, "test": 3}
    got = {}
    for split in ("train", "test"):
        s = load_split("imgs", split)
        got.update({np.asarray(x).tobytes(): int(y) for x, y in zip(s.x, s.y)})
    assert got == {img.transpose(2, 0, 1).tobytes(): int(i >= 4) for i, img in enumerate(images)}


def test_folder_pads_crops_and_resizes_non_square_images(in_tmp):
    (in_tmp / "pics").mkdir()
    (in_tmp / "pics/a.png").write_bytes(png(np.full((20, 10, 3), 255, np.uint8)))  # tall white image
    out = {}
    for mode in ("resize", "pad", "crop"):
        cfg = {"source": "folder", "path": "pics", "resolution": 10, "channels": 1, "resize": mode,
               "split": {"val": 0.0, "test": 0.5, "seed": 0}}
        download(f"p_{mode}", cfg)
        preprocess(f"p_{mode}", cfg)
        s = load_split(f"p_{mode}", "train") if read_manifest(f"p_{mode}")["splits"]["train"] else load_split(f"p_{mode}", "test")
        out[mode] = np.asarray(s.x[0, 0])
    assert out["resize"].shape == out["pad"].shape == out["crop"].shape == (10, 10)
    assert (out["resize"] == 255).all() and (out["crop"] == 255).all()
    assert (out["pad"][:, :2] < 10).all() and (out["pad"][:, -2:] < 10).all() and (out["pad"][:, 4:6] == 255).all()


@pytest.mark.parametrize("path", ["/etc", "../outside", "data/../../x"])
def test_folder_paths_must_stay_in_the_repository(in_tmp, path):
    with pytest.raises(ConfigError, match=r"datasets.mine.path: path .* must be relative to the repository"):
        download("mine", {"source": "folder", "path": path, "resolution": 8})


def test_folder_symlink_out_of_the_repository_is_refused(in_tmp, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "x.png").write_bytes(png(np.zeros((4, 4, 3), np.uint8)))
    (in_tmp / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ConfigError, match="leads outside the repository"):
        download("mine", {"source": "folder", "path": "link", "resolution": 8})


def test_folder_mixed_layout_and_unreadable_images_are_errors(in_tmp):
    (in_tmp / "pics/cls").mkdir(parents=True)
    (in_tmp / "pics/top.png").write_bytes(png(np.zeros((4, 4, 3), np.uint8)))
    (in_tmp / "pics/cls/in.png").write_bytes(png(np.zeros((4, 4, 3), np.uint8)))
    cfg = {"source": "folder", "path": "pics", "resolution": 4}
    download("mixed", cfg)
    with pytest.raises(DataError, match="some images lie in subfolders"):
        preprocess("mixed", cfg)
    preprocess("mixed", {**cfg, "labels": "none", "split": {"val": 0.0, "test": 0.5, "seed": 0}})
    (in_tmp / "pics/cls/bad.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"pics/cls/bad.png: not a readable image"):
        download("mixed", cfg)


# ---------------------------------------------------------------- CelebA
def jpeg(array: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def test_celeba_zip_and_official_partition_from_a_repo_folder(in_tmp):
    names = [f"{i:06d}.jpg" for i in range(1, 7)]
    faces = random_images(6, 218, 178, seed=2)
    write_zip(in_tmp / "files/img_align_celeba.zip", {f"img_align_celeba/{n}": jpeg(f) for n, f in zip(names, faces)})
    codes = [0, 0, 0, 1, 1, 2]
    (in_tmp / "files/list_eval_partition.txt").write_text("".join(f"{n} {c}\n" for n, c in zip(names, codes)))
    cfg = {"source": "celeba", "path": "files", "resolution": 8, "crop": 140,
           "checksums": {f: sha256(in_tmp / "files" / f) for f in ("img_align_celeba.zip", "list_eval_partition.txt")}}
    download("celeba", cfg)
    preprocess("celeba", cfg)
    m = read_manifest("celeba")
    assert m["splits"] == {"train": 3, "val": 2, "test": 1} and m["shape"] == [3, 8, 8] and not m["labels"]


def test_celeba_published_md5_is_enforced(in_tmp):
    write_zip(in_tmp / "files/img_align_celeba.zip", {"img_align_celeba/000001.jpg": jpeg(random_images(1, 8, 8)[0])})
    (in_tmp / "files/list_eval_partition.txt").write_text("000001.jpg 0\n")
    with pytest.raises(DataError, match="does not match the expected 00d2c5bc6d35e252742224ab0c1e8fcb"):
        download("celeba", {"source": "celeba", "path": "files", "resolution": 8})
    assert not (in_tmp / "data/raw/celeba").exists()


# ---------------------------------------------------------------- pix2pix / CycleGAN archives
def test_facades_zip_pairs_by_file_name_and_direction(in_tmp):
    members = {}
    for split, n in (("train", 5), ("test", 2)):
        for i in range(n):
            value = 10 * i + (100 if split == "test" else 0)
            members[f"facades/{split}A/{i}_A.png"] = png(np.full((12, 12, 3), value, np.uint8))       # "photo"
            members[f"facades/{split}B/{i}_B.png"] = png(np.full((12, 12, 3), 255 - value, np.uint8))  # "labels"
    write_zip(in_tmp / "srv/facades.zip", dict(sorted(members.items(), reverse=True)))
    cfg = {"source": "facades", "mirrors": [mirror(in_tmp / "srv")], "resolution": 12,
           "checksums": {"facades.zip": sha256(in_tmp / "srv/facades.zip")}, "split": {"val": 0.2, "seed": 0}}
    download("facades", cfg)
    preprocess("facades", cfg)
    m = read_manifest("facades")
    assert m["kind"] == "paired" and m["splits"] == {"train": {"a": 4, "b": 4}, "val": {"a": 1, "b": 1}, "test": {"a": 2, "b": 2}}
    test = load_translation("facades", "test")
    assert test.a.dtype == np.uint8 and test.a.shape == (2, 3, 12, 12)
    np.testing.assert_array_equal(test.a[:, 0, 0, 0], [155, 145])  # direction BtoA: A = the archive's B
    np.testing.assert_array_equal(np.asarray(test.a, int) + np.asarray(test.b, int), 255)  # pairs stay aligned
    for split in ("train", "val"):
        s = load_translation("facades", split)
        np.testing.assert_array_equal(np.asarray(s.a, int) + np.asarray(s.b, int), 255)


def test_pix2pix_side_by_side_tar_gz(in_tmp):
    members = {}
    for split, n in (("train", 4), ("val", 1), ("test", 2)):
        for i in range(n):
            ab = np.concatenate([np.full((8, 8, 3), 20 * i, np.uint8), np.full((8, 8, 3), 200 - i, np.uint8)], axis=1)
            members[f"facades/{split}/{i + 1}.png"] = png(ab)
    write_targz(in_tmp / "srv/facades.tar.gz", members)
    cfg = {"source": "pix2pix_archive", "archive": "facades.tar.gz", "mirrors": [mirror(in_tmp / "srv")],
           "checksums": {"facades.tar.gz": sha256(in_tmp / "srv/facades.tar.gz")}, "resolution": 8}
    download("p2p", cfg)
    preprocess("p2p", cfg)
    assert read_manifest("p2p")["splits"] == {"train": {"a": 4, "b": 4}, "val": {"a": 1, "b": 1}, "test": {"a": 2, "b": 2}}
    test = load_translation("p2p", "test")
    np.testing.assert_array_equal(test.a[:, 0, 0, 0], [0, 20])
    np.testing.assert_array_equal(test.b[:, 0, 0, 0], [200, 199])


def horse2zebra_zip(path: Path) -> Path:
    members = {}
    for folder, n, value in (("trainA", 5, 10), ("trainB", 8, 240), ("testA", 2, 20), ("testB", 3, 230)):
        for i in range(n):
            members[f"horse2zebra/{folder}/n0{value}_{i}.png"] = png(np.full((10, 10, 3), value, np.uint8))
    return write_zip(path, members)


@pytest.mark.parametrize("balance", [False, True])
def test_horse2zebra_zip_unpaired(in_tmp, balance):
    horse2zebra_zip(in_tmp / "srv/horse2zebra.zip")
    cfg = {"source": "horse2zebra", "mirrors": [mirror(in_tmp / "srv")], "resolution": 6, "balance": balance,
           "checksums": {"horse2zebra.zip": sha256(in_tmp / "srv/horse2zebra.zip")}, "split": {"val": 0.25, "seed": 0}}
    download("h2z", cfg)
    preprocess("h2z", cfg)
    m = read_manifest("h2z")
    expect = ({"train": {"a": 4, "b": 6}, "val": {"a": 1, "b": 2}, "test": {"a": 2, "b": 3}} if not balance else
              {"train": {"a": 4, "b": 4}, "val": {"a": 1, "b": 1}, "test": {"a": 2, "b": 2}})
    assert m["kind"] == "unpaired" and m["splits"] == expect and m["balanced"] is balance
    test = load_translation("h2z", "test")
    assert (np.asarray(test.a) == 20).all() and (np.asarray(test.b) == 230).all()


def test_horse2zebra_published_sha256_is_enforced(in_tmp):
    horse2zebra_zip(in_tmp / "srv/horse2zebra.zip")
    with pytest.raises(DataError, match="does not match the expected a74d9d392eecca99"):
        download("h2z", {"source": "horse2zebra", "mirrors": [mirror(in_tmp / "srv")], "resolution": 8})
    assert not (in_tmp / "data/raw/h2z").exists() and leftovers(in_tmp / "data/raw") == []
