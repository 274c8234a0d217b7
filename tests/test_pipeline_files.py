"""`gangrid pipelines`: the DVC files written from the stage table, their contents and their upkeep."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from gangrid.config import load_params
from gangrid.pipelines import HEADER, INDEX_STAGE, render, root_stages, stale, study_params, study_stages, write_pipelines
from gangrid.stagetable import STAGES

REPO = Path(__file__).resolve().parents[1]


def test_committed_files_match_params():
    params = load_params(REPO / "params.yaml")
    assert stale(params, REPO) == []
    proc = subprocess.run([sys.executable, "-m", "gangrid.cli", "pipelines", "--check"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and f"up to date ({len(params['studies'])} studies)" in proc.stdout, proc.stderr


def test_stages_read_axes_from_params_and_run_from_the_repo_root():
    doc = study_stages("images", "gan")
    assert doc["vars"] == ["../../params.yaml"]
    for stage in doc["stages"].values():
        assert stage["wdir"] == "../.."
        assert stage["matrix"] == {"dataset": "${studies.images.datasets}", "arch": "${studies.images.archs}",
                                   "loss": "${studies.images.losses}", "trick": "${studies.images.tricks}",
                                   "seed": "${studies.images.seeds}"}
    train = doc["stages"]["train"]
    assert train["cmd"] == "gangrid train --quiet images ${item.dataset}-${item.arch}-${item.loss}-${item.trick}-s${item.seed}"
    assert train["params"] == [{"pipelines/images/params.json": [
        "train", "studies.images.train", "datasets.${item.dataset}", "archs.${item.arch}", "losses.${item.loss}",
        "tricks.${item.trick}", "eval.every", "eval.track", "code.train"]}]
    assert "models/classifier/${item.dataset}.pt" in train["deps"]  # in-training metrics score on its features


def test_a_kind_building_on_another_depends_on_both_packages():
    from gangrid.kinds import code_kinds
    from gangrid.stagetable import STAGES, code_paths

    for phase in ("train", "sample", "evaluate"):  # the code a study's params index hashes for the stage
        paths = code_paths(STAGES[phase], code_kinds("encoder"))
        assert {"kinds/encoder", "kinds/gan"} <= set(paths) and "kinds/translation" not in paths


def test_a_kinds_code_is_a_dependency_of_its_runs_only(tmp_path):
    gan, trans = study_stages("images", "gan")["stages"], study_stages("translation", "translation")["stages"]
    for phase in ("train", "sample", "evaluate"):
        assert f"code.{phase}" in gan[phase]["params"][0]["pipelines/images/params.json"]
        assert f"code.{phase}" in trans[phase]["params"][0]["pipelines/translation/params.json"]
        assert not any(d.startswith("src/") for d in gan[phase]["deps"])  # the code's hash is in the params index
    checkpoint = "results/images/${item.dataset}-${item.arch}-${item.loss}-${item.trick}-s${item.seed}/checkpoint.pt"
    assert checkpoint in gan["evaluate"]["deps"]  # architectures with their own metrics read the trained nets
    assert "data/processed/${item.dataset}/manifest.json" in trans["sample"]["deps"]  # the inputs it translates

    # the hashes: an edit changes those of the stages whose code it is, in the studies of that kind only
    src = tmp_path / "gangrid"
    shutil.copytree(REPO / "src/gangrid", src, ignore=shutil.ignore_patterns("__pycache__"))
    params = load_params(REPO / "params.yaml")
    code = lambda: {s: study_params(params, s, src)["code"] for s in ("images", "translation")}  # noqa: E731
    before = code()
    with open(src / "kinds/translation/__init__.py", "a") as f:
        f.write("# edited\n")
    after = code()
    assert after["images"] == before["images"]
    assert all(after["translation"][phase] != before["translation"][phase] for phase in ("train", "sample", "evaluate"))
    with open(src / "config.py", "a") as f:  # it decides every run's config: train code, not evaluate code
        f.write("# edited\n")
    again = code()
    assert again["images"]["train"] != after["images"]["train"] and again["images"]["evaluate"] == after["images"]["evaluate"]


def test_every_stage_of_the_table_is_a_dvc_stage_and_a_snakemake_rule():
    study, root = study_stages("images", "gan")["stages"], root_stages(["images"])["stages"]
    assert set(study) | set(root) == set(STAGES) | {INDEX_STAGE}  # + DVC's params index of the studies
    assert root[INDEX_STAGE]["outs"] == [{"pipelines/images/params.json": {"cache": False}}]
    assert study["train"]["params"][0]["pipelines/images/params.json"][0] == "train"
    for name, stage in root.items():
        if name == INDEX_STAGE:
            continue
        entry = stage.get("do", stage)
        assert entry["params"] == [k.format(dataset="${key}") for k in STAGES[name].params]
    assert root["train_classifier"]["do"]["cmd"] == "gangrid train-classifier ${key}"
    assert "src/gangrid/kinds" in root["evaluate_real"]["do"]["deps"]  # the dataset's kind is known at run time only
    proc = subprocess.run(["snakemake", "--list-rules"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) == set(STAGES) | {"all"}


def test_write_adds_rewrites_and_removes_only_generated_files(tmp_path):
    params = {"studies": {"a": {}, "b": {"kind": "translation"}}}
    assert sorted(write_pipelines(params, tmp_path)) == ["missing dvc.yaml", "missing pipelines/a/dvc.yaml",
                                                         "missing pipelines/b/dvc.yaml"]
    assert stale(params, tmp_path) == [] and write_pipelines(params, tmp_path) == []
    assert yaml.safe_load((tmp_path / "pipelines/b/dvc.yaml").read_text()) == study_stages("b", "translation")

    (tmp_path / "pipelines/a/dvc.yaml").write_text(HEADER + "# edited by hand\n")
    (tmp_path / "pipelines/a/dvc.lock").write_text("schema: '2.0'\n")
    hand_written = tmp_path / "pipelines/mine/dvc.yaml"
    hand_written.parent.mkdir()
    hand_written.write_text("stages: {}\n")
    params["studies"] = {"b": {}}  # a removed, b's kind changed
    assert sorted(stale(params, tmp_path)) == ["changed dvc.yaml", "changed pipelines/b/dvc.yaml",  # root: a's index
                                               "extra pipelines/a/dvc.yaml"]
    write_pipelines(params, tmp_path)
    assert not (tmp_path / "pipelines/a").exists()  # its stale lock went with it
    assert (tmp_path / "pipelines/b/dvc.yaml").read_text() == render("b", "gan")
    assert hand_written.read_text() == "stages: {}\n"  # not ours: left alone


def test_check_names_what_is_out_of_date(tmp_path):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    proc = subprocess.run([sys.executable, "-m", "gangrid.cli", "pipelines", "--check"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: the DVC pipeline files are out of date with params.yaml (missing dvc.yaml, "
                                  "missing pipelines/modes2d/dvc.yaml")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "gangrid.cli", "pipelines"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0 and stale(load_params(tmp_path / "params.yaml"), tmp_path) == []


def test_the_params_index_holds_exactly_the_keys_of_each_studys_run_stages():
    params = load_params(REPO / "params.yaml")
    index = study_params(params, "images")
    study = params["studies"]["images"]
    assert set(index) == {"train", "studies", "datasets", "archs", "losses", "tricks", "eval", "code"}
    assert set(index["code"]) == {"train", "sample", "evaluate"}
    assert index["studies"] == {"images": {"train": study["train"]}}  # not its axes, nor other studies
    assert set(index["losses"]) == set(study["losses"]) and set(index["tricks"]) == set(study["tricks"])
    assert index["datasets"] == {d: params["datasets"][d] for d in study["datasets"]}
    assert index["eval"] == params["eval"] and index["train"] == params["train"]
