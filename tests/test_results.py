"""Results as data: `gangrid.results.load` (one tidy row per run), `gangrid results`, and the report's tables and
`gangrid compare` reading the same rows. A hand-written results tree: no data, no training."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest

from gangrid.cli import main
from gangrid.config import iter_runs, resolve_run
from gangrid.io import write_json
from gangrid.results import collect, load

from conftest import write_params


@pytest.fixture()
def repo(in_tmp, params):
    """Study `a` (ns vs hinge, 2 seeds) and study `b` borrowing a's baseline (lsgan); a's hinge seed 1 diverged,
    b's lsgan seed 1 never ran; a's runs override train.lr (a number) and b's train.betas."""
    params["studies"] = {
        "a": {"datasets": ["digits"], "archs": ["dcgan16"], "losses": ["ns", "hinge"], "tricks": ["none"],
              "seeds": [0, 1], "baseline": {"loss": "ns", "trick": "none"}, "train": {"lr": 1e-3}},
        "b": {"datasets": ["digits"], "archs": ["dcgan16"], "losses": ["lsgan"], "tricks": ["none"], "seeds": [0, 1],
              "baseline": {"study": "a", "loss": "ns", "trick": "none"}, "train": {"betas": [0.0, 0.9]}},
    }
    write_params(in_tmp / "params.yaml", params)
    for i, spec in enumerate(iter_runs(params)):
        if spec.name.endswith("lsgan-none-s1"):
            continue
        d = spec.dir
        write_json(d / "config.json", resolve_run(params, spec))
        if spec.name.endswith("hinge-none-s1"):
            write_json(d / "status.json", {"status": "diverged", "step": 7, "reason": "loss_d is nan", "device": "cpu"})
            continue
        write_json(d / "status.json", {"status": "finished", "step": 40, "train_seconds": 10.0 + i, "device": "cpu",
                                        "convergence": {"verdict": "converged", "metric": "fid359_clf"}})
        write_json(d / "metrics.json", {"fid359_clf": 5.0 + i, "kid359_clf": 0.01 * i, "step": 40,
                                        "protocol": {"n_fake": 359}})
    return in_tmp, params


def test_load_gives_one_tidy_row_per_run(repo):
    root, params = repo
    runs = load(root)
    assert list(runs["run"]) == [s.name for s in iter_runs(params)]  # one row per run, grid order, no shared copies
    by_run = runs.set_index("run")
    ok = by_run.loc["digits-dcgan16-ns-none-s0"]
    assert (ok["study"], ok["loss"], ok["seed"], ok["status"], ok["convergence"], ok["device"]) == (
        "a", "ns", 0, "finished", "converged", "cpu")
    assert ok["fid359_clf"] == 5.0 and ok["kid359_clf"] == 0.0 and ok["train_seconds"] == 10.0 and ok["step"] == 40
    assert ok["config.train.lr"] == 1e-3 and ok["config.loss.fn"] == "ns" and ok["config.arch.family"] == "dcgan"
    div = by_run.loc["digits-dcgan16-hinge-none-s1"]
    assert (div["status"], div["step"], div["reason"]) == ("diverged", 7, "loss_d is nan") and pd.isna(div["fid359_clf"])
    assert by_run.loc["digits-dcgan16-lsgan-none-s1", "status"] == "missing"
    assert json.loads(by_run.loc["digits-dcgan16-lsgan-none-s0", "config.train.betas"]) == [0.0, 0.9]  # lists as JSON
    assert "protocol" not in " ".join(runs.columns)


def test_the_report_tables_and_compare_read_the_loaders_rows(repo):
    from gangrid.report.aggregate import run_aggregate
    from gangrid.report.compare import load_experiment
    from gangrid.results import config_columns

    root, params = repo
    frames = run_aggregate(params)
    loaded = collect(params, shared=True)
    table = pd.read_csv(root / "reports/tables/runs.csv")
    assert list(table.columns) == [c for c in loaded.columns if c not in config_columns(loaded)]
    shared = table[table["shared_from"] == "a"]
    assert list(shared["study"]) == ["b", "b"] and set(shared["loss"]) == {"ns"}  # b's tables show a's baseline runs
    b = frames["summary"].query("study == 'b' and metric == 'fid359_clf'")
    assert dict(zip(b["loss"], b["n_finished"])) == {"lsgan": 1, "ns": 2}
    experiment = load_experiment(str(root))
    assert list(experiment.runs["run"]) == list(table["run"])


def test_gangrid_results_writes_csv_json_and_parquet_or_names_the_missing_package(repo, capsys):
    root, params = repo
    assert main(["results", "--study", "a"]) == 0
    csv = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(csv) == 4 and set(csv["study"]) == {"a"} and "config.train.lr" in csv
    assert main(["results", "--format", "json", "-o", "runs.json"]) == 0
    assert re.fullmatch(r"runs\.json: 6 runs, \d+ columns\n", capsys.readouterr().err)
    records = json.loads((root / "runs.json").read_text())
    assert len(records) == 6 and records[0]["fid359_clf"] == 5.0
    code = main(["results", "--format", "parquet", "-o", "runs.parquet"])
    err = capsys.readouterr().err
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert code == 2 and err.count("\n") == 1 and "needs pyarrow" in err and not (root / "runs.parquet").exists()
    else:
        assert code == 0
        back = pd.read_parquet(root / "runs.parquet")
        assert back.shape == load(root).shape and back["fid359_clf"].iloc[0] == 5.0
