"""Resuming the train stage (in-process on a tiny ring8 run; the SIGKILL version is in
test_reliability_pipeline.py): an interrupted run ends byte-identical to an uninterrupted
one, keeps only the newest checkpoints, leaves no stage outputs, and refuses (with one
warning line, then deletes) every checkpoint that is corrupt, written for another config
or other training code, or whose state does not fit the run."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch

from gangrid.training import checkpoints
from gangrid.io import save_torch
from gangrid.kinds.gan.trainer import GanTrainer
from reliability_util import RUN, STUDY, copy_repo, gangrid, make_base, read_params, write_params

STEPS = 40  # checkpoint_every 10, keep_checkpoints 2 (pipeline_repo.shrink)
CKPT_DIR = Path("checkpoints") / STUDY / RUN
RUN_DIR = Path("results") / STUDY / RUN


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return make_base(tmp_path_factory.mktemp("resume") / "base", steps=STEPS)


@pytest.fixture(scope="module")
def reference(base, tmp_path_factory) -> dict[str, bytes]:
    """checkpoint.pt and config.json of the uninterrupted run."""
    repo = copy_repo(base, tmp_path_factory.mktemp("resume") / "reference")
    code, err = gangrid(repo, "train", "--quiet", STUDY, RUN)
    assert code == 0, err
    assert not (repo / CKPT_DIR).exists(), "a finished run keeps no resume checkpoints"
    return {name: (repo / RUN_DIR / name).read_bytes() for name in ("checkpoint.pt", "config.json")}


def interrupt_at(monkeypatch, step: int) -> None:
    """Make the next training raise KeyboardInterrupt (Ctrl-C) when it is about to run step `step` + 1."""
    original = GanTrainer.iteration

    def iteration(self):
        if self.step == step:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(GanTrainer, "iteration", iteration)


def interrupted(base: Path, dest: Path, monkeypatch, at: int) -> Path:
    """A repo copy whose run was interrupted at step `at`."""
    repo = copy_repo(base, dest)
    with monkeypatch.context() as m:
        interrupt_at(m, at)
        code, err = gangrid(repo, "train", "--quiet", STUDY, RUN)
    assert code == 130 and "interrupted" in err
    return repo


def steps_saved(repo: Path) -> list[int]:
    return [int(p.stem.split("_")[1]) for p in sorted((repo / CKPT_DIR).glob("step_*.pt"))]


def finish(repo: Path) -> str:
    code, err = gangrid(repo, "train", "--quiet", STUDY, RUN)
    assert code == 0, err
    return err


def test_interrupted_run_keeps_the_newest_checkpoints_and_no_outputs(base, tmp_path, monkeypatch):
    repo = interrupted(base, tmp_path / "repo", monkeypatch, at=35)
    assert steps_saved(repo) == [20, 30]
    outputs = [p.name for p in (repo / RUN_DIR).iterdir()]
    assert outputs == ["train_log"], outputs  # no checkpoint.pt, config.json or status.json: all or none
    assert not list((repo / CKPT_DIR).glob(".*"))


def test_resumed_run_is_byte_identical(base, reference, tmp_path, monkeypatch):
    repo = interrupted(base, tmp_path / "repo", monkeypatch, at=25)
    err = finish(repo)
    assert "resuming modes2d/ring8-mlp2d-ns-none-s0 from step 20" in err
    assert (repo / RUN_DIR / "checkpoint.pt").read_bytes() == reference["checkpoint.pt"]
    assert (repo / RUN_DIR / "config.json").read_bytes() == reference["config.json"]
    assert not (repo / CKPT_DIR).exists()


def flip_tensor_byte(path: Path) -> None:
    """Flip one byte inside the largest tensor record of a torch zip file (its size stays the same)."""
    with zipfile.ZipFile(path) as zf:
        info = max((i for i in zf.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + info.file_size // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def resumed(err: str) -> bool:
    return any(line.startswith("resuming ") for line in err.splitlines())


def refused(err: str, path: Path, reason: str) -> bool:
    return any(line.startswith(f"warning: refusing checkpoint {path.as_posix()}") and reason in line for line in err.splitlines())


@pytest.mark.parametrize("damage,reason", [
    (flip_tensor_byte, "fails its CRC-32 check"),
    (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "truncated or corrupt"),
    (lambda p: p.write_bytes(b""), "truncated or corrupt"),
], ids=["bit-flip", "truncated", "empty"])
def test_corrupt_checkpoint_is_refused_and_an_older_one_used(base, reference, tmp_path, monkeypatch, damage, reason):
    repo = interrupted(base, tmp_path / "repo", monkeypatch, at=35)
    newest = CKPT_DIR / "step_00000030.pt"
    damage(repo / newest)
    err = finish(repo)
    assert refused(err, newest, reason), err
    assert "resuming modes2d/ring8-mlp2d-ns-none-s0 from step 20" in err
    assert (repo / RUN_DIR / "checkpoint.pt").read_bytes() == reference["checkpoint.pt"]


def test_checkpoint_of_other_params_is_refused(base, tmp_path, monkeypatch):
    repo = interrupted(base, tmp_path / "repo", monkeypatch, at=25)
    params = read_params(repo)
    params["train"]["n_critic"] = 2  # a setting no layer of the run (arch, loss, trick presets) overrides
    write_params(repo, params)
    err = finish(repo)
    assert refused(err, CKPT_DIR / "step_00000020.pt", "(params changed)"), err
    assert refused(err, CKPT_DIR / "step_00000010.pt", "(params changed)"), err
    assert not resumed(err)
    fresh = copy_repo(base, tmp_path / "fresh")
    write_params(fresh, params)
    finish(fresh)
    assert (repo / RUN_DIR / "checkpoint.pt").read_bytes() == (fresh / RUN_DIR / "checkpoint.pt").read_bytes()


def test_checkpoint_of_other_code_is_refused(base, reference, tmp_path, monkeypatch):
    repo = interrupted(base, tmp_path / "repo", monkeypatch, at=15)
    monkeypatch.setattr(checkpoints, "code_fingerprint", lambda: "0" * 64)
    err = finish(repo)
    assert refused(err, CKPT_DIR / "step_00000010.pt", "written by other training code"), err
    assert not resumed(err)
    assert (repo / RUN_DIR / "checkpoint.pt").read_bytes() == reference["checkpoint.pt"]


def test_checkpoint_whose_state_does_not_fit_is_refused(base, reference, tmp_path, monkeypatch):
    """Right hash, code and step, but a state missing the optimisers: refused, and the run starts
    from a clean trainer (not one half-loaded from the bad state)."""
    repo = interrupted(base, tmp_path / "repo", monkeypatch, at=15)
    path = repo / CKPT_DIR / "step_00000010.pt"
    payload = torch.load(path, weights_only=True)
    del payload["state"]["opt_g"]
    save_torch(path, payload)
    err = finish(repo)
    assert refused(err, CKPT_DIR / "step_00000010.pt", "does not fit this run (KeyError"), err
    assert not resumed(err)
    assert (repo / RUN_DIR / "checkpoint.pt").read_bytes() == reference["checkpoint.pt"]


def test_checkpoint_renamed_to_another_step_is_refused(base, tmp_path, monkeypatch):
    repo = interrupted(base, tmp_path / "repo", monkeypatch, at=15)
    (repo / CKPT_DIR / "step_00000010.pt").rename(repo / CKPT_DIR / "step_00000030.pt")
    err = finish(repo)
    assert refused(err, CKPT_DIR / "step_00000030.pt", "holds step 10"), err


def test_stale_temp_files_of_a_killed_writer_are_removed(base, reference, tmp_path, monkeypatch):
    repo = interrupted(base, tmp_path / "repo", monkeypatch, at=15)
    stale = [repo / CKPT_DIR / ".step_00000020.pt.123.abcd.tmp", repo / RUN_DIR / ".checkpoint.pt.123.abcd.tmp"]
    for p in stale:
        p.write_bytes(b"half written")
    finish(repo)
    assert not any(p.exists() for p in stale)
    assert sorted(p.name for p in (repo / RUN_DIR).iterdir()) == ["checkpoint.pt", "config.json", "status.json", "train_log"]
    assert json.loads((repo / RUN_DIR / "status.json").read_text())["status"] == "finished"


def log_steps(repo: Path) -> list[int]:
    rows = (repo / RUN_DIR / "train_log/plots/metrics/loss_g.tsv").read_text().splitlines()[1:]
    return [int(r.split("\t")[0]) for r in rows]


def test_log_comes_back_from_the_checkpoint_when_its_folder_was_deleted(base, tmp_path, monkeypatch):
    """Snakemake deletes an incomplete job's outputs (train_log/ too) before rerunning it: the resumed
    run restores the log rows up to its checkpoint from the checkpoint itself."""
    repo = interrupted(base, tmp_path / "repo", monkeypatch, at=25)
    assert log_steps(repo) == [5, 10, 15, 20, 25]
    import shutil

    shutil.rmtree(repo / RUN_DIR / "train_log")
    finish(repo)
    assert log_steps(repo) == list(range(5, STEPS + 1, 5))


def test_sigterm_checkpoints_the_current_step_and_stops(base, reference, tmp_path, monkeypatch):
    """A scheduler's SIGTERM (time limit, preemption) at step 13: checkpoint step 13, one error line,
    no outputs; the rerun resumes from step 13 and ends byte-identical."""
    import os
    import signal

    repo = copy_repo(base, tmp_path / "repo")
    original = GanTrainer.iteration

    def iteration(self):
        if self.step == 12:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives mid-step; honoured once the step is done
        return original(self)

    with monkeypatch.context() as m:
        m.setattr(GanTrainer, "iteration", iteration)
        code, err = gangrid(repo, "train", "--quiet", STUDY, RUN)
    assert code == 2
    assert err.strip() == (f"error: {STUDY}/{RUN}: stopped by SIGTERM at step 13; "
                           f"saved {(CKPT_DIR / 'step_00000013.pt').as_posix()}, rerun to resume")
    assert steps_saved(repo) == [10, 13]
    assert [p.name for p in (repo / RUN_DIR).iterdir()] == ["train_log"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is gone again
    assert "resuming modes2d/ring8-mlp2d-ns-none-s0 from step 13" in finish(repo)
    assert (repo / RUN_DIR / "checkpoint.pt").read_bytes() == reference["checkpoint.pt"]
