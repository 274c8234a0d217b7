"""Divergence: NaN/inf in a loss or in the parameters stops the run with status "diverged" at
that step (exit 0: the grid goes on); sample and evaluate carry it on as a data point; a
diverged state is never checkpointed. (The dvc grid with a diverged run and its report:
test_reliability_pipeline.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gangrid.training.base import Trainer
from gangrid.kinds.gan.trainer import GanTrainer
from reliability_util import STUDY, copy_repo, gangrid, make_base, read_params, write_params

SGD = "ring8-mlp2d-ns-sgd1e3-s0"
NONE = "ring8-mlp2d-ns-none-s0"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    repo = make_base(tmp_path_factory.mktemp("divergence") / "base", steps=40)
    params = read_params(repo)
    params["tricks"]["sgd1e3"] = {"train": {"optimizer": "sgd", "lr": 1000.0}}
    params["studies"][STUDY]["tricks"] = ["none", "sgd1e3"]
    write_params(repo, params)
    return repo


def status_of(repo: Path, run: str) -> dict:
    return json.loads((repo / "results" / STUDY / run / "status.json").read_text())


def test_diverged_run_is_marked_and_carried_through_sample_and_evaluate(base, tmp_path):
    repo = copy_repo(base, tmp_path / "repo")
    code, err = gangrid(repo, "train", "--quiet", STUDY, SGD)
    assert code == 0, err
    status = status_of(repo, SGD)
    # the step its losses became NaN/inf, not the first check after it (log_every 5)
    assert status["status"] == "diverged" and status["step"] == 3
    assert status["reason"].startswith("non-finite ") and "loss_g" in status["reason"]
    assert f"{STUDY}/{SGD}: diverged at step 3" in err
    run = repo / "results" / STUDY / SGD
    assert (run / "checkpoint.pt").exists() and (run / "config.json").exists()
    assert not (repo / "checkpoints" / STUDY / SGD).exists()
    rows = (run / "train_log/plots/metrics/loss_g.tsv").read_text().splitlines()
    assert rows == ["step\tloss_g", "3\tnan"]

    assert gangrid(repo, "sample", STUDY, SGD)[0] == 0
    with np.load(run / "samples.npz") as f:
        assert f["x"].shape == (0,) and str(f["status"]) == "diverged"
    assert (run / "grid.png").stat().st_size > 0
    # evaluate needs no classifier for a diverged run: it records the status only
    assert gangrid(repo, "evaluate", STUDY, SGD)[0] == 0
    assert json.loads((run / "metrics.json").read_text()) == {
        "status": "diverged", "step": 3, "convergence": {"verdict": "diverged", "metric": "hq_pct"}}


def poison_at(monkeypatch, step: int, error: str | None = None) -> None:
    """From iteration `step` on, G's first parameter is NaN; with `error`, that iteration raises it."""
    original = GanTrainer.iteration

    def iteration(self):
        if self.step + 1 >= step:
            with torch.no_grad():
                next(self.g.parameters()).fill_(float("nan"))
            if error is not None:
                raise RuntimeError(error)
        return original(self)

    monkeypatch.setattr(GanTrainer, "iteration", iteration)


def test_divergence_is_dated_to_its_step_not_to_the_next_check(base, tmp_path, monkeypatch):
    """Issue 17, item 10. NaN from step 7 with log_every 50, checkpoint_every 10: the run stops at the
    check of step 10 (nothing saved) and status.json names step 7, where its losses became NaN."""
    repo = copy_repo(base, tmp_path / "repo")
    params = read_params(repo)
    params["train"]["log_every"] = 50
    write_params(repo, params)
    saved = []
    import gangrid.training.loop as stage

    monkeypatch.setattr(stage, "save_checkpoint", lambda *a, **k: saved.append(a[1]))
    poison_at(monkeypatch, 7)
    code, err = gangrid(repo, "train", "--quiet", STUDY, NONE)
    assert code == 0, err
    status = status_of(repo, NONE)
    assert (status["status"], status["step"], status["reason"]) == ("diverged", 7, "non-finite loss_d, d_fake, loss_g")  # D still scores reals
    assert saved == []
    rows = (repo / "results" / STUDY / NONE / "train_log/plots/metrics/loss_g.tsv").read_text().splitlines()
    assert rows[-1] == "7\tnan"  # the values it diverged with, at the step it diverged


def test_an_op_refusing_nan_is_a_divergence(base, tmp_path, monkeypatch):
    repo = copy_repo(base, tmp_path / "repo")
    poison_at(monkeypatch, 3, error="probability tensor contains either `inf`, `nan` or element < 0")
    code, err = gangrid(repo, "train", "--quiet", STUDY, NONE)
    assert code == 0, err
    status = status_of(repo, NONE)
    assert status["status"] == "diverged" and status["step"] == 3
    assert status["reason"].startswith("non-finite parameters in G (probability tensor")


def test_other_errors_are_not_divergences(base, tmp_path, monkeypatch):
    """A bug stays a bug: it propagates (with its traceback) and writes no outputs."""
    repo = copy_repo(base, tmp_path / "repo")
    original = GanTrainer.iteration

    def iteration(self):
        if self.step == 3:
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x2 and 3x5)")
        return original(self)

    monkeypatch.setattr(GanTrainer, "iteration", iteration)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        gangrid(repo, "train", "--quiet", STUDY, NONE)
    assert not (repo / "results" / STUDY / NONE / "status.json").exists()


def test_divergence_reasons():
    class T:
        g = torch.nn.Linear(2, 2)
        d = torch.nn.Linear(2, 2)

    def divergence(t, stats):
        return Trainer.divergence(t, stats)

    def failure_divergence(t, exc):
        return Trainer.failure_divergence(t, exc)

    finite = {"loss_d": torch.tensor(0.5), "loss_g": torch.tensor(1.0)}
    assert divergence(T, finite) is None
    assert divergence(T, {**finite, "loss_g": torch.tensor(float("inf"))}) == "non-finite loss_g"
    with torch.no_grad():
        T.d.bias[0] = float("nan")
    assert divergence(T, finite) == "non-finite parameters in D"
    assert failure_divergence(T, RuntimeError("boom")) == "non-finite parameters in D (boom)"
    T.d = torch.nn.Linear(2, 2)
    assert failure_divergence(T, RuntimeError("boom")) is None
    assert failure_divergence(T, RuntimeError("svd: input contains NaN")) == "non-finite values (svd: input contains NaN)"
