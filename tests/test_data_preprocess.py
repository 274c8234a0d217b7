"""Preprocessing: model-facing range and dtype, splits, the 2-D mixtures' layouts, image-to-image sets, presets."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from gangrid.config import check_schema, load_params
from gangrid.data import RawDataset, check_dataset_cfg, dataset_key, list_sources
from gangrid.data.download import download
from gangrid.data.edges import edge_maps, edge_options
from gangrid.data.preprocess import make_splits, preprocess, split_indices
from gangrid.data.store import load_split, load_translation, read_manifest, to_model, to_uint8
from gangrid.errors import ConfigError, DataError
from test_data_fakes import idx_checksums, mirror, write_idx_set

REPO = Path(__file__).resolve().parents[1]
PRESETS = yaml.safe_load((REPO / "presets/datasets.yaml").read_text())["datasets"]


# ---------------------------------------------------------------- values and splits
def test_model_values_are_exactly_minus_one_to_one():
    x = torch.arange(256, dtype=torch.uint8)
    v = to_model(x)
    assert v.dtype == torch.float32 and v[0] == -1.0 and v[-1] == 1.0 and v[128] == pytest.approx(0.5 / 127.5)
    assert torch.equal(to_uint8(v), x)


def test_processed_digits_are_memmapped_uint8_nchw_in_range(in_tmp):
    cfg = load_params(REPO / "params.yaml")["datasets"]["digits"]
    download("digits", cfg)
    preprocess("digits", cfg)
    m = read_manifest("digits")
    assert m["splits"] == {"train": 1258, "val": 180, "test": 359}  # 1797 = round(10%) + round(20%) + rest
    train = load_split("digits", "train")
    assert isinstance(train.x, np.memmap) and train.x.dtype == np.uint8 and train.x.shape[1:] == (1, 16, 16)
    v = to_model(train.x)
    assert v.dtype == torch.float32 and v.min() == -1.0 and v.max() <= 1.0
    for name, info in m["files"].items():
        arr = np.load(in_tmp / "data/processed/digits" / name, mmap_mode="r")
        assert list(arr.shape) == info["shape"] and str(arr.dtype) == info["dtype"] and len(info["sha256"]) == 64


def test_fixed_seed_splits_are_disjoint_complete_and_reproducible():
    idx = split_indices(1797, 0.1, 0.2, seed=0)
    assert [len(idx[s]) for s in ("train", "val", "test")] == [1258, 180, 359]
    for a, b in itertools.combinations(idx.values(), 2):
        assert not set(a) & set(b)
    assert sorted(np.concatenate(list(idx.values()))) == list(range(1797))
    again, other = split_indices(1797, 0.1, 0.2, seed=0), split_indices(1797, 0.1, 0.2, seed=1)
    assert all(np.array_equal(idx[s], again[s]) for s in idx)
    assert not np.array_equal(idx["test"], other["test"])
    with pytest.raises(DataError, match="leave no training data"):
        split_indices(10, 0.5, 0.5, seed=0)


def test_official_splits_are_kept_and_val_is_carved_from_train():
    x = np.arange(20)[:, None]
    raw = RawDataset("image", x, x[:, 0], test_x=x[:5] + 100, test_y=np.zeros(5))
    s = make_splits(raw, {"val": 0.25, "test": 0.5, "seed": 0})  # test fraction ignored: official test
    assert len(s["train"][0]) == 15 and len(s["val"][0]) == 5 and np.array_equal(s["test"][0], x[:5] + 100)
    assert sorted(np.concatenate([s["train"][0], s["val"][0]])[:, 0]) == list(range(20))
    raw.val_x, raw.val_y = x[:3] + 50, np.zeros(3)
    s = make_splits(raw, {"val": 0.25})
    assert len(s["train"][0]) == 20 and np.array_equal(s["val"][0], x[:3] + 50)


# ---------------------------------------------------------------- 2-D mixtures
@pytest.mark.parametrize("name", ["grid25", "ring8"])
def test_mixture_centres_and_std_match_the_config(in_tmp, name):
    cfg = load_params(REPO / "params.yaml")["datasets"][name]
    raw_dir = download(name, cfg)
    with np.load(raw_dir / "points.npz") as f:
        x, y, centers = f["x"], f["y"], f["centers"]
    if name == "grid25":  # PacGAN / VEEGAN: {-4, -2, 0, 2, 4}^2
        expected = np.array(list(itertools.product([-4, -2, 0, 2, 4], repeat=2)), float)
        assert cfg["std"] == 0.05
    else:  # Unrolled GAN / VEEGAN: 8 modes on the circle of radius 2
        angles = np.arange(8) * np.pi / 4
        expected = 2.0 * np.stack([np.cos(angles), np.sin(angles)], 1)
        assert cfg["std"] == 0.02
    np.testing.assert_allclose(np.array(sorted(map(tuple, centers))), np.array(sorted(map(tuple, expected))), atol=1e-12)
    assert len(x) == cfg["n_points"] and set(np.unique(y)) == set(range(len(expected)))
    residual = x - centers[y]
    np.testing.assert_allclose(residual.std(axis=0), cfg["std"], rtol=0.03)  # per-axis std of the modes
    np.testing.assert_allclose(residual.mean(axis=0), 0.0, atol=4 * cfg["std"] / np.sqrt(len(x)))
    nearest = np.argmin(((x[:, None] - centers[None]) ** 2).sum(-1), axis=1)
    assert (nearest == y).all()  # modes are well separated at this std
    preprocess(name, cfg)
    m = read_manifest(name)
    assert m["meta"]["std"] == cfg["std"] and len(m["meta"]["centers"]) == len(expected)


def test_mixture_std_and_layout_follow_params(in_tmp):
    raw_dir = download("wide", {"source": "ring8", "std": 0.1, "n_points": 4000, "radius": 3.0, "n_modes": 6})
    with np.load(raw_dir / "points.npz") as f:
        centers, residual = f["centers"], f["x"] - f["centers"][f["y"]]
    assert len(centers) == 6 and np.allclose(np.linalg.norm(centers, axis=1), 3.0)
    np.testing.assert_allclose(residual.std(axis=0), 0.1, rtol=0.05)


# ---------------------------------------------------------------- image-to-image sets
def test_sobel_edges_of_a_step_are_the_step_columns():
    img = np.zeros((1, 6, 8, 1), np.uint8)
    img[:, :, 4:] = 200
    edges = edge_maps(img, threshold=0.5, operator="sobel")
    assert edges.shape == (1, 6, 8, 1) and set(np.unique(edges)) == {0, 255}
    assert (edges[0, :, 3:5, 0] == 255).all() and (edges[0, :, :3, 0] == 0).all() and (edges[0, :, 5:, 0] == 0).all()
    assert (edge_maps(np.full((2, 5, 5, 3), 90, np.uint8), channels=3, operator="sobel") == 0).all()  # flat: no edges


def test_canny_edges_of_a_step_are_one_column():
    """Non-maximum suppression thins the two-column Sobel band of a step to one pixel."""
    img = np.zeros((1, 6, 8, 1), np.uint8)
    img[:, :, 4:] = 200
    edges = edge_maps(img, operator="canny", sigma=0.0)[0, ..., 0] > 0
    assert edges.sum() == 6 and (edges[:, 3].all() or edges[:, 4].all())  # one of the band's two columns
    assert (edge_maps(np.full((2, 5, 5, 3), 90, np.uint8), channels=3) == 0).all()  # flat images: no edges


def test_canny_outlines_a_filled_square_with_a_closed_one_pixel_contour():
    img = np.zeros((1, 16, 16, 1), np.uint8)
    img[:, 4:12, 4:12] = 220
    edges = edge_maps(img)[0, ..., 0] > 0  # default operator: canny, sigma 0.5
    assert not edges[6:10, 6:10].any()  # the inside is not an edge
    rows, cols = edges[6:10].sum(axis=1), edges[:, 6:10].sum(axis=0)
    assert (rows == 2).all() and (cols == 2).all()  # one pixel on each side of every row and column through it
    from scipy import ndimage

    assert ndimage.label(edges, structure=np.ones((3, 3)))[1] == 1  # one closed, connected contour


def test_canny_contours_of_digits_are_thinner_than_their_strokes_unlike_sobel_bands():
    """The issue the operator fixes: thresholded Sobel marks about twice as many pixels as the digit's ink."""
    from sklearn.datasets import load_digits

    x = load_digits().images[:200]
    x = np.repeat(np.repeat((x / 16 * 255).astype(np.uint8), 2, axis=1), 2, axis=2)[..., None]  # 16 px
    ink = (x[..., 0] > 127).sum((1, 2)).mean()
    canny = (edge_maps(x)[..., 0] > 0).sum((1, 2)).mean()
    sobel = (edge_maps(x, operator="sobel")[..., 0] > 0).sum((1, 2)).mean()
    assert canny < ink < sobel


def test_edges2digits_pairs_align_with_the_digits_splits(in_tmp):
    cfg = PRESETS["edges2digits"]
    digits = {"source": "digits", **{k: cfg[k] for k in ("resolution", "channels", "split")}}
    for name, c in (("edges2digits", cfg), ("digits", digits)):
        download(name, c)
        preprocess(name, c)
    m = read_manifest("edges2digits")
    assert m["kind"] == "paired" and m["splits"]["train"] == {"a": 1258, "b": 1258} and m["shape"] == [1, 16, 16]
    for split in ("train", "val", "test"):
        pairs, plain = load_translation("edges2digits", split), load_split("digits", split)
        np.testing.assert_array_equal(pairs.b, plain.x)  # same fixed-seed split as the base dataset
        np.testing.assert_array_equal(pairs.y_a, plain.y)
        expected = edge_maps(np.asarray(pairs.b).transpose(0, 2, 3, 1), **edge_options(cfg)).transpose(0, 3, 1, 2)
        np.testing.assert_array_equal(pairs.a, expected)  # the edge map of exactly that image
    with pytest.raises(DataError, match="image-to-image set: use load_translation"):
        load_split("edges2digits", "train")
    with pytest.raises(DataError, match="not an image-to-image set"):
        load_translation("digits", "train")


def test_class_domains_are_pure_balanced_and_keep_the_official_test_split(in_tmp):
    arrays = write_idx_set(in_tmp / "srv", n_train=400, n_test=100, seed=4)
    base = {"source": "mnist", "mirrors": [mirror(in_tmp / "srv")], "checksums": idx_checksums(in_tmp / "srv")}
    cfg = {"source": "class_domains", "base": base, "domain_a": [1], "domain_b": ["7"], "resolution": 28,
           "split": {"val": 0.2, "seed": 0}}
    download("ones2sevens", cfg)
    preprocess("ones2sevens", cfg)
    m = read_manifest("ones2sevens")
    assert m["kind"] == "unpaired" and m["balanced"] is True and m["meta"]["domains"] == {"a": "1", "b": "7"}
    n_test = min((arrays["test_y"] == 1).sum(), (arrays["test_y"] == 7).sum())
    assert m["splits"]["test"] == {"a": n_test, "b": n_test}
    for split in ("train", "val", "test"):
        s = load_translation("ones2sevens", split)
        assert len(s.a) == len(s.b) > 0 and (s.y_a == 1).all() and (s.y_b == 7).all()
    test = load_translation("ones2sevens", "test")
    official = {x.tobytes() for x in arrays["test_x"][arrays["test_y"] == 1]}
    assert {np.asarray(x[0]).tobytes() for x in test.a} <= official


def test_class_domains_reject_unknown_or_overlapping_classes(in_tmp):
    base = {"source": "digits"}
    download("d", {"source": "class_domains", "base": base, "domain_a": [3], "domain_b": [3], "resolution": 8})
    with pytest.raises(ConfigError, match=r"datasets.d.domain_b: classes \[3\] are in both domains"):
        preprocess("d", {"source": "class_domains", "base": base, "domain_a": [3], "domain_b": [3], "resolution": 8})
    with pytest.raises(ConfigError, match=r"datasets.d.domain_a: unknown class 'Sneaker'"):
        preprocess("d", {"source": "class_domains", "base": base, "domain_a": ["Sneaker"], "domain_b": [3], "resolution": 8})


# ---------------------------------------------------------------- params checks and the presets catalogue
def test_unknown_dataset_option_names_the_key():
    with dataset_key("datasets.x"), pytest.raises(ConfigError, match=r"datasets.x.resolutoin: unknown option"):
        check_dataset_cfg("x", {"source": "digits", "resolutoin": 16})
    with dataset_key("datasets.e"), pytest.raises(ConfigError, match=r"datasets.e.base.source: unknown dataset source"):
        check_dataset_cfg("e", {"source": "edges2", "base": {"source": "nope"}, "resolution": 8})
    with pytest.raises(ConfigError, match=r"datasets.f.resolution: source 'folder' has no fixed size"):
        check_dataset_cfg("f", {"source": "folder", "path": "x"})


def test_every_preset_is_valid_and_every_source_has_one():
    params = load_params(REPO / "params.yaml")
    for name, cfg in PRESETS.items():
        trial = copy.deepcopy(params)
        trial["datasets"] = {name: cfg}
        check_schema(trial, source="presets/datasets.yaml")
        with dataset_key(f"datasets.{name}"):
            check_dataset_cfg(name, cfg)
    generic = {"pix2pix_archive", "cyclegan_archive"}  # any archive: documented in archives.py
    assert set(list_sources()) - generic == {cfg["source"] for cfg in PRESETS.values()}
    for name in set(params["datasets"]) & set(PRESETS):  # params.yaml's copies of presets keep their source
        assert params["datasets"][name]["source"] == PRESETS[name]["source"]
