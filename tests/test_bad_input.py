"""Bad input: every case is one `error: ...` line naming the key or file, exit status 2, no
traceback, and no new or changed file anywhere in the repository (no partial outputs).

The cases run `gangrid.cli.main` in-process on a tiny temp repository (params.yaml + the
processed ring8 mixture); `test_console_*` check the same contract through the real console
script for a few of them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml

from gangrid.cli import main
from gangrid.config import find_run, load_params, resolve_run
from reliability_util import RUN, make_base, snapshot


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory) -> Path:
    """params.yaml and the processed ring8 set (made by the CLI), copied for every case."""
    return make_base(tmp_path_factory.mktemp("bad_input") / "base")


# --- edits of the temp repository ---------------------------------------------------------

def set_key(path: str, value) -> Callable[[Path], None]:
    """Set params key `a.b.c` to `value` (a Python object; YAML-dumped)."""
    def edit(root: Path) -> None:
        params = yaml.safe_load((root / "params.yaml").read_text())
        node = params
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return edit


def params_text(text: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / "params.yaml").write_text(text)
    return edit


def replace_in_params(old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        text = (root / "params.yaml").read_text()
        assert old in text, old
        (root / "params.yaml").write_text(text.replace(old, new, 1))
    return edit


def add_preset(section: str, name: str, preset: dict, study_axis: str | None = None) -> Callable[[Path], None]:
    """Add a preset (and put it on the modes2d study's axis)."""
    def edit(root: Path) -> None:
        params = yaml.safe_load((root / "params.yaml").read_text())
        params[section][name] = preset
        if study_axis:
            params["studies"]["modes2d"][study_axis] = [name]
            if study_axis in ("losses", "tricks"):
                params["studies"]["modes2d"]["baseline"][{"losses": "loss", "tricks": "trick"}[study_axis]] = name
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return edit


def digits_study(resolution: int) -> Callable[[Path], None]:
    """A study pairing dcgan16 with digits at `resolution` px."""
    def edit(root: Path) -> None:
        params = yaml.safe_load((root / "params.yaml").read_text())
        params["datasets"]["digits"]["resolution"] = resolution
        params["studies"]["img"] = {"datasets": ["digits"], "archs": ["dcgan16"], "losses": ["ns"], "tricks": ["none"],
                                    "seeds": [0], "baseline": {"loss": "ns", "trick": "none"}, "train": {}}
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return edit


def remove(rel: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        target = root / rel
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    return edit


def corrupt_train_points(root: Path) -> None:
    """Change one coordinate of the processed training set (same shape and dtype: only the checksum tells)."""
    path = root / "data/processed/ring8/train_x.npy"
    x = np.load(path)
    x[0, 0] += 1.0
    np.save(path, x)


def file_in_place_of_dir(rel: str) -> Callable[[Path], None]:
    """A plain file where an output folder must go: the folder can never be created (unwritable)."""
    def edit(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("not a folder\n")
    return edit


def finished_run(checkpoint: bytes | None = b"PK\x03\x04 truncated", status: str | None = None) -> Callable[[Path], None]:
    """A run folder as the train stage leaves it, with a bad checkpoint or status file."""
    def edit(root: Path) -> None:
        params = load_params(root / "params.yaml")
        run = root / "results/modes2d" / RUN
        run.mkdir(parents=True)
        (run / "config.json").write_text(json.dumps(resolve_run(params, find_run(params, "modes2d", RUN))))
        (run / "status.json").write_text(status if status is not None else '{"status": "finished", "step": 20}\n')
        if checkpoint is not None:
            (run / "checkpoint.pt").write_bytes(checkpoint)
    return edit


def both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        for e in edits:
            e(root)
    return edit


MALFORMED = "datasets:\n  ring8: {source: ring8\narchs: {}\n"
PYTHON_TAG = "datasets: !!python/object/apply:os.system ['touch PWNED']\n"

# (id, edit, argv, substrings the error line must contain)
CASES = [
    ("malformed-yaml", params_text(MALFORMED), ["validate"], ["params.yaml", "malformed YAML", "line 3"]),
    ("yaml-python-tag", params_text(PYTHON_TAG), ["validate"], ["params.yaml", "python/object/apply:os.system"]),
    ("duplicate-key", replace_in_params("  ns:\n", "  ns: {fn: hinge}\n  ns:\n"), ["validate"], ["params.yaml", "duplicate key 'ns'", "line"]),
    ("missing-params-file", None, ["--params", "nope.yaml", "validate"], ["nope.yaml"]),
    ("top-level-not-mapping", params_text("- 1\n- 2\n"), ["validate"], ["params.yaml", "mapping"]),
    ("unknown-top-level-key", set_key("trian", {"steps": 3}), ["validate"], ["unknown key", "trian"]),
    ("unknown-arch-preset", set_key("studies.modes2d.archs", ["mlp2dd"]), ["train", "modes2d", RUN], ["studies.modes2d.archs[0]", "mlp2dd"]),
    ("unknown-loss-preset", set_key("studies.modes2d.losses", ["nss"]), ["validate"], ["studies.modes2d.losses[0]", "unknown loss preset", "nss"]),
    ("unknown-trick-preset", set_key("studies.modes2d.tricks", ["spectral"]), ["validate"], ["studies.modes2d.tricks[0]", "spectral"]),
    ("unknown-dataset-preset", set_key("studies.modes2d.datasets", ["ring9"]), ["validate"], ["studies.modes2d.datasets[0]", "ring9"]),
    ("unknown-dataset-source", set_key("datasets.ring8.source", "ring80"), ["validate"], ["datasets.ring8.source", "ring80"]),
    ("unknown-arch-family", set_key("archs.mlp2d.family", "mlpp"), ["validate"], ["archs.mlp2d.family", "mlpp"]),
    ("unknown-loss-fn", set_key("losses.ns.fn", "nonsat"), ["validate"], ["losses.ns.fn", "nonsat"]),
    ("unknown-trick-module", add_preset("tricks", "bad", {"spectral_normalisation": {}}, "tricks"), ["validate"], ["tricks.bad", "spectral_normalisation"]),
    ("unknown-trick-hparam", add_preset("tricks", "bad", {"ema": {"decy": 0.9}}, "tricks"), ["validate"], ["tricks.bad.ema", "decy"]),
    ("trick-hparam-wrong-type", add_preset("tricks", "bad", {"ema": {"decay": "high"}}, "tricks"), ["validate"], ["tricks.bad.ema", "decay"]),
    ("steps-wrong-type", set_key("train.steps", "many"), ["validate"], ["train.steps", "many"]),
    ("batch-size-zero", set_key("train.batch_size", 0), ["validate"], ["train.batch_size", "0"]),
    ("lr-negative", set_key("train.lr", -0.1), ["validate"], ["train.lr", "-0.1"]),
    ("z-dim-negative", set_key("train.z_dim", -3), ["validate"], ["train.z_dim", "-3"]),
    ("betas-wrong-length", set_key("train.betas", [0.5]), ["validate"], ["train.betas"]),
    ("study-override-zero-steps", set_key("studies.modes2d.train.steps", 0), ["train", "modes2d", RUN], ["studies.modes2d.train.steps", "0"]),
    ("preset-override-wrong-type", add_preset("losses", "bad", {"fn": "ns", "train": {"lr": "fast"}}, "losses"), ["validate"], ["losses.bad.train.lr", "fast"]),
    ("arch-width-negative", set_key("archs.mlp2d.hidden", -5), ["validate"], ["archs.mlp2d.hidden", "-5"]),
    ("arch-width-wrong-type", set_key("archs.mlp2d.hidden", "wide"), ["validate"], ["archs.mlp2d", "hidden", "wide"]),
    ("eval-n-samples-zero", set_key("eval.n_samples", 0), ["validate"], ["eval.n_samples", "0"]),
    ("seed-negative", set_key("studies.modes2d.seeds", [-1]), ["validate"], ["studies.modes2d.seeds[0]", "-1"]),
    ("unknown-metric", set_key("eval.metrics", ["fidd"]), ["validate"], ["eval.metrics[0]", "fidd"]),
    ("resolution-unsupported", digits_study(12), ["validate"], ["studies.img", "digits", "12x12", "dcgan16"]),
    ("resolution-zero", set_key("datasets.digits.resolution", 0), ["validate"], ["datasets.digits.resolution", "0"]),
    ("study-name-escapes", replace_in_params("  modes2d:\n", "  ../escape:\n"), ["validate"], ["'../escape'", "not a valid name"]),
    ("folder-path-escapes", add_preset("datasets", "mine", {"source": "folder", "path": "../outside", "resolution": 16}), ["validate"], ["datasets.mine.path", "../outside"]),
    ("folder-path-absolute", add_preset("datasets", "mine", {"source": "folder", "path": "/etc", "resolution": 16}), ["validate"], ["datasets.mine.path", "/etc"]),
    ("unknown-run", None, ["train", "modes2d", "ring8-mlp2d-ns-none-s7"], ["modes2d", "ring8-mlp2d-ns-none-s7"]),
    ("unknown-study", None, ["train", "images2", RUN], ["unknown study", "images2"]),
    ("dataset-not-preprocessed", remove("data/processed"), ["train", "modes2d", RUN], ["data/processed/ring8/manifest.json"]),
    ("dataset-file-missing", remove("data/processed/ring8/train_x.npy"), ["train", "modes2d", RUN], ["data/processed/ring8/train_x.npy"]),
    ("dataset-checksum-mismatch", corrupt_train_points, ["train", "modes2d", RUN], ["data/processed/ring8/train_x.npy", "sha256"]),
    ("output-dir-unwritable", file_in_place_of_dir("results/modes2d"), ["train", "modes2d", RUN], [f"results/modes2d/{RUN}"]),
    ("checkpoint-corrupt", finished_run(), ["sample", "modes2d", RUN], [f"results/modes2d/{RUN}/checkpoint.pt", "corrupt"]),
    ("checkpoint-missing", finished_run(checkpoint=None), ["sample", "modes2d", RUN], [f"results/modes2d/{RUN}/checkpoint.pt", "missing"]),
    ("status-malformed", finished_run(status="{finished"), ["sample", "modes2d", RUN], [f"results/modes2d/{RUN}/status.json", "JSON"]),
    ("samples-missing", finished_run(), ["evaluate", "modes2d", RUN], [f"results/modes2d/{RUN}/samples.npz"]),
    # issue 21: what only a later stage used to refuse is refused by `gangrid validate` (and by every stage)
    ("pacgan-batch-not-a-multiple", add_preset("tricks", "pac3", {"pacgan": {"m": 3}}, "tricks"), ["validate"],
     ["pacgan", "train.batch_size 256 is not a multiple of the pack size m=3", "archs.mlp2d.train.batch_size"]),
    ("report-confidence-out-of-range", set_key("report.confidence", 1.5), ["validate"], ["report.confidence", "1.5"]),
    ("report-confidence-at-the-first-stage", set_key("report.confidence", 1.5), ["download", "ring8"],
     ["report.confidence", "1.5"]),
    ("eval-unknown-key", set_key("eval.n_sample", 100), ["validate"], ["eval", "unknown key", "n_sample"]),
    ("eval-classifier-unknown-key", set_key("eval.classifier.epoch", 3), ["validate"], ["eval.classifier", "epoch"]),
    ("eval-n-samples-beyond-memory", set_key("eval.n_samples", 100_000_000), ["validate"],
     ["eval.n_samples: 100000000", "MB in the evaluate stage", "resources.eval.mem_mb = 4000"]),
]
ISSUE_21 = ["pacgan-batch-not-a-multiple", "report-confidence-out-of-range", "eval-unknown-key", "eval-n-samples-beyond-memory"]


@pytest.mark.parametrize("edit,argv,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_writes_nothing(base_repo, tmp_path, monkeypatch, capsys, edit, argv, expected):
    root = tmp_path / "repo"
    shutil.copytree(base_repo, root)
    if edit is not None:
        edit(root)
    before = snapshot(root)
    monkeypatch.chdir(root)
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    assert snapshot(root) == before, "the failed command created, removed or rewrote files"
    assert not (root / "PWNED").exists()


def test_at_least_twenty_cases():
    assert len(CASES) >= 20
    assert len({c[0] for c in CASES}) == len(CASES)


def console(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gangrid.cli", *args], cwd=root, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", ["dataset-checksum-mismatch", "yaml-python-tag"])
def test_console_error_is_one_line(base_repo, tmp_path, case):
    """The console script itself: exit status 2, one line, no traceback, nothing written."""
    _, edit, argv, expected = next(c for c in CASES if c[0] == case)
    root = tmp_path / "repo"
    shutil.copytree(base_repo, root)
    edit(root)
    before = snapshot(root)
    proc = console(root, *argv)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    assert all(text in lines[0] for text in expected), lines[0]
    assert snapshot(root) == before
    assert not (root / "PWNED").exists()


@pytest.mark.parametrize("case", ISSUE_21)
def test_snakemake_start_stops_with_the_validate_line(base_repo, tmp_path, monkeypatch, capsys, case):
    """The Snakefile's params (gangrid.preflight.snakemake_params, in Snakemake's main process) stop before any job
    is scheduled: status 2 and exactly the line `gangrid validate` prints."""
    from gangrid.preflight import snakemake_params

    _, edit, _, _ = next(c for c in CASES if c[0] == case)
    root = tmp_path / "repo"
    shutil.copytree(base_repo, root)
    edit(root)
    monkeypatch.chdir(root)
    assert main(["validate"]) == 2
    line = capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        snakemake_params(["params.yaml"], {}, main=True)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == line


@pytest.mark.pipeline
@pytest.mark.slow
def test_snakemake_dry_run_stops_before_scheduling(tmp_path):
    """`snakemake -n` itself on a grid its train stage would refuse: gangrid validate's one line, status 2, no job.
    Then `--config` mends it: its values (YAML 1.2, like the file's) reach every job's gangrid command as `--set`."""
    from pipeline_repo import make_repo, sh, tiny_grid
    from reliability_util import gangrid

    def pacgan3(params):
        tiny_grid(params)
        params["tricks"]["pac3"] = {"pacgan": {"m": 3}}
        params["studies"]["modes2d"]["tricks"] = ["none", "pac3"]

    repo = make_repo(tmp_path / "repo", edit=pacgan3)
    code, expected = gangrid(repo, "validate")
    proc = sh(["snakemake", "-n"], repo, check=False)
    assert code == proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == expected.strip().splitlines() and len(lines) == 1, proc.stderr
    assert "pack size m=3" in lines[0] and "Job stats" not in proc.stdout

    mended = sh(["snakemake", "-n", "-p", "--config", "tricks={pac3: {pacgan: {m: 2}}}", "train={lr: 1e-4}"], repo).stdout
    sets = "--set tricks.pac3.pacgan.m=2 --set train.lr=0.0001"
    commands = [line.split(": ", 1)[1] for line in mended.splitlines() if line.startswith("Shell command: gangrid ")]
    assert all(line.startswith(f"gangrid --params params.yaml {sets} ") for line in commands), mended[-3000:]
    assert any(line.endswith("train --quiet modes2d ring8-mlp2d-ns-pac3-s0 > logs/train/modes2d/ring8-mlp2d-ns-pac3-s0.log 2>&1")
               for line in commands), mended[-3000:]
    assert gangrid(repo, *sets.split(), "validate")[0] == 0
