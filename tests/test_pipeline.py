"""The whole slice under both orchestrators on a tiny grid in a temp copy of the repo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gangrid.config import iter_runs, load_params
from gangrid.pipelines import run_stage
from pipeline_repo import dvc_train_runs, gangrid_runs, make_repo, sh, snakemake_train_runs

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]

RUN_FILES = ["checkpoint.pt", "config.json", "status.json", "samples.npz", "grid.png", "metrics.json"]


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory) -> Path:
    return make_repo(tmp_path_factory.mktemp("pipeline") / "repo")


def outputs(repo: Path) -> list[Path]:
    params = load_params(repo / "params.yaml")
    files = [spec.dir / f for spec in iter_runs(params) for f in RUN_FILES]
    files += [Path("results/real") / ds / "metrics.json" for ds in params["datasets"]]
    files += [Path("models/classifier") / f"{ds}.pt" for ds in params["datasets"]]
    files += [Path("reports/report.md"), Path("reports/report.html"), Path("reports/index.html"),
              Path("reports/tables/runs.csv")]
    files += [Path("reports/figures/index.json")]
    return files


def figure_files(repo: Path) -> list[Path]:
    """Every PNG and PDF listed in reports/figures/index.json (at least one figure per study)."""
    index = json.loads((repo / "reports/figures/index.json").read_text())["figures"]
    studies = {f["study"] for f in index if f.get("study")}
    assert studies >= set(load_params(repo / "params.yaml")["studies"]), studies
    return [Path("reports/figures") / f"{f['stem']}.{ext}" for f in index for ext in ("png", "pdf")]


def test_orchestrators_agree_on_the_run_set(tiny_repo):
    runs = gangrid_runs(tiny_repo)
    assert runs, "the grid is empty"
    assert dvc_train_runs(tiny_repo) == runs
    assert snakemake_train_runs(tiny_repo) == runs
    # the stage addresses `gangrid repro` hands to DVC are DVC's own names
    listed = {line.split()[0] for line in sh(["dvc", "stage", "list", "--all"], tiny_repo).stdout.splitlines() if line}
    specs = list(iter_runs(load_params(tiny_repo / "params.yaml")))
    assert {run_stage(spec, "evaluate") for spec in specs} <= listed


def test_dvc_repro_then_snakemake(tiny_repo):
    """`gangrid repro -j 2` (parallel dvc repro workers) builds everything, a plain `dvc repro` then has nothing to
    do, and Snakemake from scratch writes byte-identical metrics."""
    sh(["gangrid", "repro", "-j", "2"], tiny_repo)
    for rel in outputs(tiny_repo) + figure_files(tiny_repo):
        assert (tiny_repo / rel).exists() and (tiny_repo / rel).stat().st_size > 0, rel
    report = (tiny_repo / "reports/report.md").read_text()
    assert "real data" in report
    dvc_metrics = {
        rel: (tiny_repo / rel).read_bytes() for rel in outputs(tiny_repo) if rel.name == "metrics.json"
    }
    # second repro: nothing to do
    out = sh(["dvc", "repro"], tiny_repo).stdout
    assert "Running stage" not in out, out

    # the same grid from scratch under snakemake
    sh(["make", "-f", str(Path(__file__).resolve().parents[1] / "Makefile"), "clean-outputs"], tiny_repo)
    assert not (tiny_repo / "results").exists()
    sh(["snakemake", "-j2"], tiny_repo)
    for rel in outputs(tiny_repo):
        assert (tiny_repo / rel).exists(), rel
    for rel, data in dvc_metrics.items():
        assert (tiny_repo / rel).read_bytes() == data, f"{rel} differs between dvc and snakemake"
    status = json.loads((tiny_repo / next(iter_runs(load_params(tiny_repo / "params.yaml"))).dir / "status.json").read_text())
    assert status["status"] == "finished"
