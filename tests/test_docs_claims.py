"""Issue 17, item 12: what the docs promise is there. The training log holds the gradient norms of
G and D (every `log_every` steps), and sources cite papers, not files outside the repository."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

from reliability_util import RUN, STUDY, copy_repo, gangrid, make_base
from conftest import REPO
from tricks_util import DATA, make_trainer, tiny_config


def test_grad_norms_are_the_l2_norms_of_the_last_updates_gradients():
    trainer = make_trainer(tiny_config("mlp2d", "ns", "none"), DATA["mlp2d"])
    assert {k: v.item() for k, v in trainer.grad_norms().items()} == {"grad_norm_g": 0.0, "grad_norm_d": 0.0}
    trainer.iteration()
    norms = trainer.grad_norms()
    for key, net in (("grad_norm_g", trainer.g), ("grad_norm_d", trainer.d)):
        expected = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in net.parameters()))
        assert expected > 0 and norms[key].item() == pytest.approx(expected, rel=1e-5)


def test_train_logs_grad_norms_of_g_and_d_at_every_log_step(tmp_path):
    repo = copy_repo(make_base(tmp_path / "base", steps=10), tmp_path / "repo")  # log_every 5
    code, err = gangrid(repo, "train", "--quiet", STUDY, RUN)
    assert code == 0, err
    tables = Path(repo) / "results" / STUDY / RUN / "train_log/plots/metrics"
    for net in ("g", "d"):
        rows = (tables / f"grad_norm_{net}.tsv").read_text().splitlines()
        assert rows[0] == f"step\tgrad_norm_{net}" and [r.split("\t")[0] for r in rows[1:]] == ["5", "10"]
        assert all(0 < float(r.split("\t")[1]) < math.inf for r in rows[1:])


def test_sources_cite_papers_not_files_outside_the_repository():
    """No pointer to a notes file (TECHNIQUES.md) or to line numbers of texts the repository does not hold."""
    outside = re.compile(r"TECHNIQUES\.md|\b00[0-9]:[0-9]+")
    files = [*sorted((REPO / "src").rglob("*.py")), REPO / "params.yaml", REPO / "README.md", *sorted((REPO / "presets").glob("*.yaml"))]
    found = [f"{f.relative_to(REPO)}:{i}" for f in files for i, line in enumerate(f.read_text().splitlines(), 1) if outside.search(line)]
    assert found == []
