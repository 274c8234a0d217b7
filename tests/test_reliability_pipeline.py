"""End to end in a tiny temp copy of the repository, under `dvc repro`:

- a run killed with SIGKILL after its first checkpoint and rerun ends with a checkpoint.pt
  and (after sample + evaluate) a metrics.json byte-identical to the uninterrupted run
  that `dvc repro` made (CPU, same seed);
- a variant forced to diverge (SGD at lr 1e3) is marked diverged, the grid still
  completes, and the report and every table list it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline_repo import make_repo, sh, tiny_grid

pytestmark = [pytest.mark.slow, pytest.mark.pipeline]

STUDY = "modes2d"
GOOD = "ring8-mlp2d-ns-none-s0"
BAD = "ring8-mlp2d-ns-sgd1e3-s0"
STEPS = 60


def grid(params: dict) -> None:
    """One loss, two tricks: `none` and `sgd1e3` (SGD, lr 1e3: NaN within a few steps)."""
    tiny_grid(params, losses=("ns",))
    params["tricks"]["sgd1e3"] = {"train": {"optimizer": "sgd", "lr": 1000.0}}
    params["studies"][STUDY]["tricks"] = ["none", "sgd1e3"]
    params["train"].update({"log_every": 5, "checkpoint_every": 10, "keep_checkpoints": 2})
    params.setdefault("report", {})["pdf"] = "never"


@pytest.fixture(scope="module")
def repro(tmp_path_factory) -> Path:
    """The tiny grid after one `dvc repro`."""
    repo = make_repo(tmp_path_factory.mktemp("reliability") / "repo", edit=grid, steps=STEPS)
    sh(["dvc", "repro"], repo)
    return repo


def gangrid(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return sh([sys.executable, "-m", "gangrid.cli", *args], repo, check=check)


def test_diverged_run_is_a_data_point(repro):
    run_dir = repro / "results" / STUDY / BAD
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "diverged"
    assert 0 < status["step"] < STEPS and "non-finite" in status["reason"]
    assert json.loads((run_dir / "metrics.json").read_text()) == {
        "status": "diverged", "step": status["step"], "convergence": {"metric": "hq_pct", "verdict": "diverged"}}
    assert (run_dir / "grid.png").stat().st_size > 0
    for out in ("reports/report.md", "reports/tables/runs.csv"):
        assert (repro / out).exists(), out
    assert not (repro / "checkpoints" / STUDY / BAD).exists()

    report = (repro / "reports/report.md").read_text()
    assert f"`{STUDY}/{BAD}`: diverged at step {status['step']}" in report
    runs = (repro / "reports/tables/runs.md").read_text()
    assert any(BAD in line and "diverged" in line for line in runs.splitlines()), runs
    tables = sorted((repro / "reports/tables").glob(f"{STUDY}_*.md"))
    assert tables
    for table in tables:  # every per-study table has the variant's row, marked and out of the means
        rows = [line for line in table.read_text().splitlines() if "| sgd1e3 |" in line]
        assert len(rows) == 1 and "0 + 1 div." in rows[0] and "diverged" in rows[0], (table.name, rows)

    # nothing is left to do: the grid completed with the diverged run in it
    assert "Running stage" not in sh(["dvc", "repro"], repro).stdout


def test_killed_run_resumes_to_identical_bytes(repro):
    run_dir = repro / "results" / STUDY / GOOD
    ckpt_dir = repro / "checkpoints" / STUDY / GOOD
    reference = {name: (run_dir / name).read_bytes() for name in ("checkpoint.pt", "metrics.json", "samples.npz")}
    assert json.loads(reference["metrics.json"])["status"] == "finished"
    assert not ckpt_dir.exists(), "a finished run keeps no resume checkpoints"
    for name in ("checkpoint.pt", "config.json", "status.json", "samples.npz", "grid.png", "metrics.json"):
        (run_dir / name).unlink()  # what an orchestrator does before rerunning the stage

    proc = subprocess.Popen([sys.executable, "-m", "gangrid.cli", "train", "--quiet", STUDY, GOOD], cwd=repro,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(ckpt_dir.glob("step_*.pt")):
            assert proc.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (run_dir / "status.json").exists() and not (run_dir / "checkpoint.pt").exists(), "killed too late"
    killed_at = max(int(p.stem.split("_")[1]) for p in ckpt_dir.glob("step_*.pt"))
    assert 0 < killed_at < STEPS

    out = gangrid(repro, "train", "--quiet", STUDY, GOOD)
    resumed = [line for line in out.stderr.splitlines() if line.startswith("resuming")]
    assert resumed and int(resumed[0].split()[-1]) >= killed_at, out.stderr
    assert (run_dir / "checkpoint.pt").read_bytes() == reference["checkpoint.pt"]
    assert json.loads((run_dir / "status.json").read_text())["status"] == "finished"
    assert not ckpt_dir.exists()
    steps = [int(r.split("\t")[0]) for r in (run_dir / "train_log/plots/metrics/loss_g.tsv").read_text().splitlines()[1:]]
    assert steps == list(range(5, STEPS + 1, 5)), "the resumed log lost or repeated rows"

    gangrid(repro, "sample", STUDY, GOOD)
    gangrid(repro, "evaluate", STUDY, GOOD)
    assert (run_dir / "samples.npz").read_bytes() == reference["samples.npz"]
    assert (run_dir / "metrics.json").read_bytes() == reference["metrics.json"]
