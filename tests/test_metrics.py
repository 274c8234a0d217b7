"""Metrics against closed forms and the reference packages (clean-fid, prdc) on the same features."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import prdc as prdc_pkg
import pytest
import scipy.linalg
from cleanfid import fid as cleanfid

from gangrid.metrics.fid import fid_from_features, fid_infinity, frechet_distance, gaussian_stats
from gangrid.metrics.inception_score import inception_score
from gangrid.metrics.kid import kernel_distance, mmd2_unbiased_poly
from gangrid.metrics.knn import cross_blocks, knn_sq_radii
from gangrid.metrics.modes import kl_to_uniform, mixture_coverage
from gangrid.metrics.prdc import prdc


def features(n: int, d: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """Non-negative, correlated features (a ReLU of a low-rank map plus noise), like a network's."""
    rng = np.random.default_rng(seed)
    w = np.random.default_rng(1234).standard_normal((8, d)) / 2
    z = rng.standard_normal((n, 8)) * scale + shift
    return np.maximum(z @ w + 0.3 * rng.standard_normal((n, d)), 0.0)


def random_cov(d: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).standard_normal((d, 2 * d))
    return a @ a.T / (2 * d)


# ---- FID -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 16, 64])
def test_fid_equals_cleanfid_frechet_distance(d):
    a, b = features(600, d, 0), features(700, d, 1, shift=0.3, scale=1.2)
    stats = gaussian_stats(a) + gaussian_stats(b)
    ours = frechet_distance(*stats)
    ref = cleanfid.frechet_distance(*stats)
    assert ref > 0.01
    assert ours == pytest.approx(ref, rel=1e-6)


def test_fid_from_features_equals_cleanfid_fid_from_feats():
    a, b = features(2000, 32, 0), features(1500, 32, 1, shift=0.2)
    assert fid_from_features(a, b) == pytest.approx(cleanfid.fid_from_feats(a, b), rel=1e-6)


def test_fid_closed_form_diagonal_and_commuting_gaussians():
    rng = np.random.default_rng(0)
    d = 12
    a, b = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))  # shared eigenvectors: S1, S2 commute
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10)
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[9.0]])) == pytest.approx(9.0 + 1.0)


def test_fid_closed_form_general_gaussians():
    """Non-commuting covariances: Tr((S1 S2)^1/2) = Tr((S1^1/2 S2 S1^1/2)^1/2)."""
    d = 20
    s1, s2 = random_cov(d, 1), random_cov(d, 2)
    mu1, mu2 = np.zeros(d), np.full(d, 0.5)
    r = scipy.linalg.sqrtm(s1).real
    expected = d * 0.25 + np.trace(s1) + np.trace(s2) - 2 * np.trace(scipy.linalg.sqrtm(r @ s2 @ r).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_fid_of_a_set_with_itself_is_zero():
    x = features(500, 64, 3)
    mu, cov = gaussian_stats(x)
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-9 * np.trace(cov))


def test_fid_singular_covariance():
    """Fewer samples than dimensions: S1 is singular. Stats route (eigen, not Cholesky) and features route
    (n x n problem of the smaller set) both equal the closed form."""
    a, b = features(20, 32, 0), features(200, 32, 1, shift=0.5)
    (mu1, s1), (mu2, s2) = gaussian_stats(a), gaussian_stats(b)
    r = scipy.linalg.sqrtm(s2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(scipy.linalg.sqrtm(r @ s1 @ r).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
    assert fid_from_features(a, b) == pytest.approx(expected, rel=1e-6)
    assert fid_from_features(b, a) == pytest.approx(expected, rel=1e-6)
    assert fid_from_features(features(40, 64, 3), features(30, 64, 4)) == pytest.approx(
        frechet_distance(*gaussian_stats(features(40, 64, 3)), *gaussian_stats(features(30, 64, 4))), rel=1e-6)


def test_gaussian_stats_in_blocks_equal_numpy():
    x = features(3000, 40, 5).astype(np.float32)
    mu, cov = gaussian_stats(x, budget_mb=0.2)  # many row blocks
    assert np.allclose(mu, x.astype(np.float64).mean(0), rtol=1e-12, atol=1e-12)
    assert np.allclose(cov, np.cov(x.astype(np.float64), rowvar=False), rtol=1e-10, atol=1e-12)


def test_fid_infinity_removes_the_one_over_n_bias():
    """E[FID_N] = FID_inf + c/N: over a few seeds, the extrapolation lands near the large-N value, FID_1000 above it."""
    real = features(20000, 32, 0)
    target = fid_from_features(features(40000, 32, 2, shift=0.2), real)
    fakes = [features(1000, 32, 10 + s, shift=0.2) for s in range(3)]
    small = np.mean([fid_from_features(f, real) for f in fakes])
    inf = np.mean([fid_infinity(f, real) for f in fakes])
    assert small - target > 0.1
    assert abs(inf - target) < 0.25 * (small - target)


# ---- KID -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n1,n2,m,subsets", [(700, 900, 300, 7), (400, 400, 1000, 1), (250, 600, 1000, 4)])
def test_kid_equals_cleanfid_kernel_distance_on_the_same_subsets(n1, n2, m, subsets):
    """clean-fid draws its subsets from numpy's global RandomState: seeding it and ours alike gives the same subsets."""
    a, b = features(n1, 24, 0), features(n2, 24, 1, shift=0.3)
    np.random.seed(11)
    ref = cleanfid.kernel_distance(a, b, num_subsets=subsets, max_subset_size=m)
    mean, std = kernel_distance(a, b, num_subsets=subsets, max_subset_size=m, seed=11)
    assert mean == pytest.approx(ref, rel=1e-9)
    np.random.seed(11)  # the global-state path draws the same way
    assert kernel_distance(a, b, subsets, m, seed=None)[0] == pytest.approx(ref, rel=1e-9)


def test_kid_std_over_subsets_and_whole_set_shortcut():
    a, b = features(300, 16, 0), features(300, 16, 1, shift=0.3)
    mean, std = kernel_distance(a, b, num_subsets=5, max_subset_size=300)  # every subset is the whole set
    assert std == 0.0
    assert mean == pytest.approx(mmd2_unbiased_poly(a, b), rel=1e-12)
    mean, std = kernel_distance(a, b, num_subsets=20, max_subset_size=100, seed=3)
    assert std > 0


def test_mmd2_unbiased_matches_the_definition():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 5)), rng.standard_normal((12, 5)) + 0.5
    k = lambda u, v: (u @ v / 5 + 1) ** 3  # noqa: E731
    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    assert mmd2_unbiased_poly(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


# ---- IS --------------------------------------------------------------------------------------------

def test_inception_score_uniform_predictions_is_one():
    mean, std = inception_score(np.full((1000, 10), 0.1))
    assert mean == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("classes", [2, 10])
def test_inception_score_confident_balanced_predictions_is_the_class_count(classes):
    probs = np.eye(classes)[np.arange(1000) % classes]
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(classes, rel=1e-12) and std == pytest.approx(0.0, abs=1e-9)


def test_inception_score_one_split_equals_the_definition():
    p = np.random.default_rng(0).dirichlet(np.full(5, 0.3), size=400)
    marginal = p.mean(0)
    expected = np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1)))
    assert inception_score(p, splits=1)[0] == pytest.approx(expected, rel=1e-12)
    assert 1.0 < inception_score(p, splits=10)[0] < 5.0


# ---- precision / recall / density / coverage --------------------------------------------------------

def reference_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the set sizes
        return {key: float(v) for key, v in prdc_pkg.compute_prdc(real, fake, k).items()}


@pytest.mark.parametrize("k", [3, 5])
def test_prdc_equals_the_prdc_package(k):
    real, fake = features(900, 20, 0), features(700, 20, 1, shift=0.4, scale=1.3)
    ours = prdc(real, fake, pr_k=k, dc_k=k)
    ref = reference_prdc(real, fake, k)
    assert 0 < ref["precision"] < 1 and 0 < ref["coverage"] < 1
    assert ours == pytest.approx(ref, abs=1e-12)


def test_prdc_with_distinct_k_and_tiny_memory_budget():
    """P/R with k=3 and D/C with k=5 (two prdc calls as the reference), computed in many small blocks."""
    real, fake = features(800, 12, 2), features(650, 12, 3, shift=0.3)
    ours = prdc(real, fake, pr_k=3, dc_k=5, budget_mb=0.05, block=50)
    r3, r5 = reference_prdc(real, fake, 3), reference_prdc(real, fake, 5)
    assert ours == pytest.approx({"precision": r3["precision"], "recall": r3["recall"],
                                  "density": r5["density"], "coverage": r5["coverage"]}, abs=1e-12)


def test_knn_radii_and_cross_blocks_equal_brute_force():
    x, y = features(300, 6, 0), features(170, 6, 1)
    full = scipy.spatial.distance.cdist(x, x, "sqeuclidean")
    np.fill_diagonal(full, np.inf)
    radii = knn_sq_radii(x, (1, 4), block=37)
    for k in (1, 4):
        assert np.allclose(radii[k], np.sort(full, axis=1)[:, k - 1], rtol=1e-9, atol=1e-9)
    blocks = list(cross_blocks(x, y, budget_mb=0.01))
    assert len(blocks) > 1
    stacked = np.concatenate([b for _, b in blocks])
    assert np.allclose(stacked, scipy.spatial.distance.cdist(x, y, "sqeuclidean"), rtol=1e-9, atol=1e-9)


def test_knn_radii_with_duplicate_points():
    x = np.repeat(features(150, 4, 0), 2, axis=0)  # every point twice: its nearest other point is its twin
    full = scipy.spatial.distance.cdist(x, x, "sqeuclidean")
    np.fill_diagonal(full, np.inf)
    radii = knn_sq_radii(x, (1, 2, 3), block=32)
    assert np.allclose(radii[1], 0.0, atol=1e-9)
    for k in (2, 3):
        assert np.allclose(radii[k], np.sort(full, axis=1)[:, k - 1], rtol=1e-9, atol=1e-9)


def test_prdc_of_a_set_with_itself():
    x = features(400, 8, 0)
    values = prdc(x, x, 3, 5)
    assert values["precision"] == 1.0 and values["recall"] == 1.0 and values["coverage"] == 1.0


# ---- mode coverage ---------------------------------------------------------------------------------

def test_mixture_coverage_known_cases():
    centers = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]])
    all_modes = np.repeat(centers, 25, axis=0) + 0.01
    out = mixture_coverage(all_modes, centers, std=0.05)
    assert out == {"modes": 4.0, "hq_pct": 100.0, "mode_kl": pytest.approx(0.0, abs=1e-9)}
    collapsed = np.repeat(centers[:1], 100, axis=0)
    out = mixture_coverage(collapsed, centers, std=0.05)
    assert out["modes"] == 1.0 and out["mode_kl"] == pytest.approx(np.log(4))
    far = np.full((50, 2), 2.0)  # between the modes: no high-quality sample
    out = mixture_coverage(far, centers, std=0.05)
    assert out["modes"] == 0.0 and out["hq_pct"] == 0.0


def test_kl_to_uniform():
    assert kl_to_uniform(np.array([5.0, 5.0, 5.0])) == pytest.approx(0.0, abs=1e-12)
    assert kl_to_uniform(np.array([0.0, 9.0, 0.0])) == pytest.approx(np.log(3))
    p = np.array([0.5, 0.25, 0.25])
    assert kl_to_uniform(p * 8) == pytest.approx(float(np.sum(p * np.log(p * 3))))


def test_metrics_bench_runs_and_reports_equal_values(capsys):
    """bench/metrics.py on a tiny problem: exits 0 and prints FID, KID and PRDC rows equal to the references."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("bench_metrics", Path(__file__).resolve().parents[1] / "bench" / "metrics.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--n", "300", "--dims", "8", "--kid-subsets", "3", "--kid-subset-size", "100"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.split()[:1] in (["FID"], ["KID"], ["PRDC"])]
    assert [r[0] for r in rows] == ["FID", "KID", "PRDC"]
    assert all(float(r[7]) < 1e-9 for r in rows)  # max relative difference to clean-fid / prdc

