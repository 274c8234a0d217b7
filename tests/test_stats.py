"""Statistics over seeds against scipy and hand-computed values; metric families/directions; report settings."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from gangrid.errors import ConfigError
from gangrid.report import stats as S
from gangrid.report.metricinfo import direction, family, is_context, label
from gangrid.report.settings import report_settings

A = np.array([12.1, 13.4, 11.8, 12.9, 14.2])
B = np.array([15.3, 14.1, 16.8, 15.9])


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
@pytest.mark.parametrize("x", [A, B, np.array([1.0, 2.0]), np.linspace(-3, 7, 11)])
def test_t_interval_matches_scipy(x, confidence):
    mean, std, half = S.t_interval(x, confidence)
    low, high = stats.t.interval(confidence, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert mean == pytest.approx(x.mean(), rel=1e-12)
    assert std == pytest.approx(x.std(ddof=1), rel=1e-12)
    assert mean - half == pytest.approx(low, rel=1e-10)
    assert mean + half == pytest.approx(high, rel=1e-10)


def test_t_interval_undefined_cases_are_nan_and_non_finite_values_are_dropped():
    assert all(math.isnan(v) for v in S.t_interval([]))
    mean, std, half = S.t_interval([3.0])
    assert mean == 3.0 and math.isnan(std) and math.isnan(half)
    assert S.t_interval([1.0, np.nan, 2.0, np.inf, 3.0]) == S.t_interval([1.0, 2.0, 3.0])


def test_bootstrap_interval_is_scipys_percentile_bootstrap():
    low, high = S.bootstrap_interval(A, 0.95, n_resamples=2000, seed=7)
    ref = stats.bootstrap((A,), np.mean, confidence_level=0.95, n_resamples=2000, method="percentile",
                          rng=np.random.default_rng(7)).confidence_interval
    assert (low, high) == pytest.approx((ref.low, ref.high), rel=1e-12)
    assert A.min() <= low < A.mean() < high <= A.max()
    assert S.bootstrap_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)
    assert all(math.isnan(v) for v in S.bootstrap_interval([2.0]))


def test_summarise_values_bootstrap_and_t():
    t = S.summarise_values(A, 0.95, "t")
    assert t.n == 5 and t.half == pytest.approx(S.t_interval(A)[2])
    b = S.summarise_values(A, 0.95, "bootstrap", n_resamples=1000, seed=1)
    assert (b.low, b.high) == pytest.approx(S.bootstrap_interval(A, 0.95, 1000, 1))


def test_welch_matches_scipy():
    t, df, p = S.welch_t(A, B)
    ref = stats.ttest_ind(A, B, equal_var=False)
    assert t == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-10)
    assert df == pytest.approx(ref.df, rel=1e-12)
    assert all(math.isnan(v) for v in S.welch_t([1.0, 1.0], [1.0, 1.0]))  # no variance: not testable
    assert all(math.isnan(v) for v in S.welch_t([1.0], [2.0, 3.0]))  # one seed: not testable


def test_mann_whitney_matches_scipy_and_the_exact_small_sample_value():
    u, p = S.mann_whitney(A, B)
    ref = stats.mannwhitneyu(A, B, alternative="two-sided")
    assert (u, p) == pytest.approx((ref.statistic, ref.pvalue))
    # 3 vs 3, completely separated: exact two-sided p = 2 / C(6, 3) = 0.1, the smallest possible
    assert S.mann_whitney([1, 2, 3], [4, 5, 6])[1] == pytest.approx(0.1)
    from gangrid.report.narrative import min_mannwhitney_p

    assert min_mannwhitney_p(3, 3) == pytest.approx(0.1)


def test_effect_sizes_by_hand():
    # d = (2 - 5) / pooled sd 1 = -3; J = 1 - 3 / (4 * 6 - 9) = 0.8
    assert S.hedges_g([1, 2, 3], [4, 5, 6]) == pytest.approx(-2.4)
    assert S.rank_biserial([1, 2, 3], [4, 5, 6]) == -1.0
    assert S.rank_biserial([4, 5, 6], [1, 2, 3]) == 1.0
    u = stats.mannwhitneyu([1, 2, 2, 5], [2, 3, 4]).statistic  # ties count one half
    assert S.rank_biserial([1, 2, 2, 5], [2, 3, 4]) == pytest.approx(2 * u / 12 - 1)


def test_holm_by_hand():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max(0.06, 0.04) = 0.06
    out = S.holm([0.01, 0.04, 0.03, np.nan, 0.005])
    assert out[[0, 1, 2, 4]] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert math.isnan(out[3])
    assert S.holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert S.holm([0.02]) == pytest.approx([0.02])


def test_compare_dispatches_by_test_name():
    assert S.compare(A, B, "welch").effect_name == "g"
    assert S.compare(A, B, "mannwhitney").effect_name == "r"
    with pytest.raises(ValueError):
        S.compare(A, B, "anova")


@pytest.mark.parametrize("name,better,fam", [
    ("fid1k_clf", "lower", "quality"), ("kid10k_inception", "lower", "quality"), ("is1k_clf", "higher", "quality"),
    ("precision1k_clf", "higher", "prdc"), ("coverage1k_clf", "higher", "prdc"), ("modes", "higher", "modes"),
    ("hq_pct", "higher", "modes"), ("mode_kl", "lower", "modes"), ("class_modes", "higher", "classes"),
    ("class_kl", "lower", "classes"), ("whatever_score", None, "other"), ("accuracy", None, "other"),
    ("l1", "lower", "translation"), ("psnr", "higher", "translation"), ("l1_ba", "lower", "translation"),
    ("fid359_clf_ba", "lower", "quality"), ("acc_target_clf", "higher", "accuracy"), ("fid2500_clf_inf", "lower", "quality"),
    ("d_accuracy", "higher", "accuracy"), ("train_seconds", None, "cost"),
])
def test_metric_directions_and_families(name, better, fam):
    assert direction(name) == better
    assert family(name).key == fam


def test_context_values_and_overrides_and_labels():
    assert is_context("modes_total") and is_context("kid1k_clf_std") and not is_context("modes")
    assert direction("modes_total") is None
    assert direction("whatever_score", {"whatever": "higher"}) == "higher"
    assert direction("fid1k_clf", {"fid1k_clf": "higher"}) == "higher"
    assert label("fid1k_clf") == "FID (1k, clf)"
    assert label("fid359_clf_ba") == "FID ba (359, clf)" and label("kid1k_clf_std") == "KID std (1k, clf)"
    assert label("fid2500_clf_inf") == "FID-inf (2500, clf)" and label("acc_target_clf") == "Target-class accuracy (clf)"
    assert label("hq_pct", latex=True) == r"HQ \%"
    assert label("fid1k_clf", latex=True) == r"FID\textsubscript{1k,clf}"


def test_report_settings_defaults_and_errors():
    assert report_settings({}).test == "welch"
    s = report_settings({"report": {"interval": "bootstrap", "bootstrap": 500, "test": "mannwhitney"}})
    assert (s.interval, s.bootstrap, s.test) == ("bootstrap", 500, "mannwhitney")
    for bad, key in [({"confidence": 1.5}, "report.confidence"), ({"test": "anova"}, "report.test"),
                     ({"bootstrap": 3}, "report.bootstrap"), ({"colour": 1}, "report: unknown"),
                     ({"directions": {"x": "up"}}, "report.directions.x")]:
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            report_settings({"report": bad})
