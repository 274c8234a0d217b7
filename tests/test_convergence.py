"""The convergence verdict: the rule on synthetic curves (flat, still falling, diverged, too short), the
least-squares trend it rests on, and in-training metrics through a real (tiny) train stage: logged under
eval/, equal to the evaluate stage's values on the same samples, without changing what is trained."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from gangrid.training.convergence import (CONVERGED, DIVERGED, UNCONVERGED, UNDETERMINED, Rule, trend, verdict)
from reliability_util import RUN, STUDY, copy_repo, gangrid, make_base, read_params, write_params

STEPS = 2000
EVERY = 50
T = np.arange(EVERY, STEPS + 1, EVERY, dtype=float)


def curve(fn, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """fn(step) plus Gaussian evaluation noise of std `noise`."""
    return fn(T) + noise * np.random.default_rng(seed).standard_normal(len(T))


def test_trend_of_an_exact_line_is_its_change_with_zero_error():
    change, se, level = trend([100, 200, 300, 400], [3.0, 3.5, 4.0, 4.5])
    assert change == pytest.approx(1.5) and se == pytest.approx(0.0, abs=1e-12) and level == pytest.approx(3.75)


def test_trend_standard_error_matches_ordinary_least_squares():
    rng = np.random.default_rng(1)
    t = np.arange(10.0)
    y = 0.3 * t + rng.standard_normal(10)
    change, se, _ = trend(t, y)
    slope, intercept = np.polyfit(t, y, 1)
    resid = y - (slope * t + intercept)
    se_slope = math.sqrt((resid**2).sum() / 8 / ((t - t.mean()) ** 2).sum())
    assert change == pytest.approx(slope * 9) and se == pytest.approx(se_slope * 9)


@pytest.mark.parametrize("seed", range(5))
def test_a_flat_noisy_curve_has_converged(seed):
    """FID that dropped early and now only fluctuates around 9 (noise 0.3)."""
    y = curve(lambda t: 9 + 40 * np.exp(-t / 150), noise=0.3, seed=seed)
    assert verdict(T, y, STEPS)["verdict"] == CONVERGED


def test_a_curve_still_falling_has_not_converged():
    """FID still falling 25% over the last quarter, well above the evaluation noise."""
    y = curve(lambda t: 20 - 6 * t / STEPS, noise=0.2)
    out = verdict(T, y, STEPS)
    assert out["verdict"] == UNCONVERGED
    assert out["change"] < -out["tolerance"] and abs(out["change"]) > 2 * out["se"]


def test_a_rising_quality_curve_has_not_converged():
    """HQ % still climbing from 60 to 80 in the last quarter (decay schedules do this)."""
    y = curve(lambda t: np.minimum(100, 20 + 60 * t / STEPS), noise=1.0)
    assert verdict(T, y, STEPS)["verdict"] == UNCONVERGED


def test_a_small_drift_within_tolerance_counts_as_converged():
    """A 2% drift over the last quarter is real but below the 5% tolerance."""
    y = curve(lambda t: 10 - 0.8 * t / STEPS, noise=0.01)
    assert verdict(T, y, STEPS)["verdict"] == CONVERGED


def test_a_trend_hidden_in_noise_is_not_called_unconverged():
    """A 10% change over the window with evaluation noise ten times larger: no clear trend."""
    y = curve(lambda t: 10 - 4 * t / STEPS, noise=10.0, seed=3)
    out = verdict(T, y, STEPS)
    assert abs(out["change"]) <= 2 * out["se"] and out["verdict"] == CONVERGED


def test_a_curve_with_non_finite_values_at_the_end_diverged():
    y = curve(lambda t: 10 + 0 * t)
    y[-2:] = np.nan
    assert verdict(T, y, STEPS)["verdict"] == DIVERGED


def test_too_few_evaluations_in_the_window_are_undetermined():
    out = verdict([500, 1000, 1500, 2000], [5.0, 4.0, 3.0, 2.0], STEPS)
    assert out["verdict"] == UNDETERMINED and out["points"] == 2  # steps >= 1500 only


def test_the_rule_is_stated_with_its_settings():
    text = Rule(window=0.5, rel_tol=0.1, min_points=6).describe("FID")
    assert "last 50%" in text and "10%" in text and "6 evaluations" in text and "FID" in text


# ------------------------------------------------------------------ through the train stage

@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = make_base(tmp_path_factory.mktemp("convergence") / "base", steps=40)
    params = read_params(root)
    params["eval"].update(every=10, n_samples=300)
    params["eval"]["track"].update(n=300)
    write_params(root, params)
    return root


def test_a_tracked_run_logs_its_metrics_and_states_its_verdict(base, tmp_path):
    repo = copy_repo(base, tmp_path / "repo")
    code, err = gangrid(repo, "train", "--quiet", STUDY, RUN)
    assert code == 0, err
    run = repo / "results" / STUDY / RUN
    status = json.loads((run / "status.json").read_text())
    conv = status["convergence"]
    assert conv["metric"] == "hq_pct" and conv["verdict"] in (CONVERGED, UNCONVERGED, UNDETERMINED)
    assert "least-squares trend" in conv["rule"] and status["eval_seconds"] >= 0
    tsv = run / "train_log" / "plots" / "metrics" / "eval" / "hq_pct.tsv"
    steps = [int(line.split("\t")[0]) for line in tsv.read_text().splitlines()[1:]]
    assert steps == [10, 20, 30, 40]
    for name in ("modes", "mode_kl"):
        assert (tsv.parent / f"{name}.tsv").exists()


def test_in_training_metrics_equal_the_evaluate_stage_on_the_same_samples(base, tmp_path):
    """The last evaluation scores the final generator's fixed-noise sample; with the same N and seed the evaluate
    stage scores the same points and must give the same numbers."""
    repo = copy_repo(base, tmp_path / "repo")
    params = read_params(repo)
    params["eval"]["sample_seed"] = params["eval"]["track"]["seed"]
    write_params(repo, params)
    assert gangrid(repo, "train", "--quiet", STUDY, RUN)[0] == 0
    assert gangrid(repo, "sample", STUDY, RUN)[0] == 0
    assert gangrid(repo, "evaluate", STUDY, RUN)[0] == 0
    run = repo / "results" / STUDY / RUN
    metrics = json.loads((run / "metrics.json").read_text())
    tables = run / "train_log" / "plots" / "metrics" / "eval"
    for name in ("hq_pct", "modes", "mode_kl"):
        last = (tables / f"{name}.tsv").read_text().splitlines()[-1].split("\t")
        assert float(last[-1]) == pytest.approx(metrics[name], rel=1e-6, abs=1e-9), name


def test_tracking_does_not_change_what_is_trained(base, tmp_path):
    """The same run with in-training metrics off ends with bit-identical weights and optimiser state."""
    states = {}
    for every in (0, 10):
        repo = copy_repo(base, tmp_path / f"every{every}")
        params = read_params(repo)
        params["eval"]["every"] = every
        write_params(repo, params)
        assert gangrid(repo, "train", "--quiet", STUDY, RUN)[0] == 0
        payload = torch.load(repo / "results" / STUDY / RUN / "checkpoint.pt", weights_only=True)
        states[every] = payload["state"]
        status = json.loads((repo / "results" / STUDY / RUN / "status.json").read_text())
        assert ("convergence" in status) == bool(every)
    for part in ("g", "d"):
        for key, value in states[0][part].items():
            assert torch.equal(value, states[10][part][key]), (part, key)
    assert torch.equal(states[0]["rng"]["torch"], states[10]["rng"]["torch"])


def test_tracked_metrics_may_differ_per_data_kind():
    from gangrid.training.tracking import TrackSettings

    per_kind = TrackSettings.from_config({"track": {"every": 5, "metrics": {"points": ["mixture_modes"], "image": ["fid"]}}})
    assert per_kind.metrics_for("points") == ("mixture_modes",) and per_kind.metrics_for("paired") == ()
    plain = TrackSettings.from_config({"track": {"every": 5, "metrics": ["fid", "kid"]}})
    assert plain.metrics_for("image") == plain.metrics_for("points") == ("fid", "kid")
    assert TrackSettings.from_config({}).every == 0  # no track section: off
