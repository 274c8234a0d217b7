"""gangrid.io and the stage contract: deterministic checkpoint bytes, integrity checks on load,
atomic all-or-nothing outputs (also on a full disk), and resumable train logs."""

from __future__ import annotations

import collections
import errno
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from torch import nn

from gangrid import io as gio
from gangrid.config import load_params
from gangrid.errors import CheckpointError, ConfigError, UserError
from gangrid.training.log import truncate_logs
from reliability_util import RUN, STUDY, copy_repo, gangrid, make_base, snapshot


# --- deterministic serialisation ------------------------------------------------------------

def test_saved_bytes_depend_only_on_the_values(tmp_path):
    """A state saved, loaded and saved again (what a resumed run does) gives the same bytes,
    whatever the temp file names were and whichever strings were shared objects."""
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    opt = torch.optim.Adam(net.parameters())
    net(torch.randn(5, 3)).sum().backward()
    opt.step()
    state = {"step": 1, "net": net.state_dict(), "opt": opt.state_dict()}
    gio.save_torch(tmp_path / "a.pt", state)
    gio.save_torch(tmp_path / "b.pt", gio.load_torch(tmp_path / "a.pt"))
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.pt") as zf:
        assert {n.split("/")[0] for n in zf.namelist()} == {"archive"}


def test_canonical_keeps_values_and_module_metadata():
    sd = nn.BatchNorm1d(2).state_dict()
    key = "".join(["run", "ning_mean"])  # a fresh, non-interned string
    obj = {"a": [1, (2.5, "x")], "sd": sd, key: None}
    out = gio.canonical(obj)
    assert out == obj and out is not obj
    assert isinstance(out["sd"], collections.OrderedDict) and out["sd"]._metadata == sd._metadata
    assert next(k for k in out if k == key) is sys.intern(key)  # interned: one object for equal strings
    nn.BatchNorm1d(2).load_state_dict(out["sd"])


# --- integrity of loaded files --------------------------------------------------------------

def test_load_refuses_a_flipped_bit_that_torch_load_accepts(tmp_path):
    path = tmp_path / "t.pt"
    gio.save_torch(path, {"w": torch.arange(1000.0)})
    raw = bytearray(path.read_bytes())
    at = raw.find(torch.tensor([500.0]).numpy().tobytes())
    raw[at + 1] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert torch.load(path, weights_only=True)["w"][500] != 500  # torch itself loads it silently
    with pytest.raises(CheckpointError, match="fails its CRC-32 check"):
        gio.load_torch(path)


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04\x14\x00"])
def test_load_refuses_truncated_or_foreign_files(tmp_path, content):
    (tmp_path / "t.pt").write_bytes(content)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        gio.load_torch(tmp_path / "t.pt")


# --- atomic, all-or-nothing outputs ---------------------------------------------------------

def no_space(path, directory=False):
    if not directory:
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("write", [
    lambda p: gio.write_json(p, {"a": 1}),
    lambda p: gio.write_text(p, "text"),
    lambda p: gio.save_torch(p, {"w": torch.zeros(3)}),
    lambda p: gio.save_npz(p, x=torch.zeros(3).numpy()),
], ids=["json", "text", "torch", "npz"])
def test_full_disk_leaves_neither_file_nor_temp(tmp_path, monkeypatch, write):
    monkeypatch.setattr(gio, "_fsync", no_space)
    target = tmp_path / "out" / "file"
    with pytest.raises(UserError, match=r"cannot write .*out/file: No space left on device"):
        write(target)
    assert list((tmp_path / "out").iterdir()) == []


def test_failed_block_leaves_the_old_file(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with gio.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_outputs_are_world_readable_like_ordinary_files(tmp_path):
    gio.write_text(tmp_path / "f.txt", "x")
    (tmp_path / "g.txt").write_text("x")
    assert (tmp_path / "f.txt").stat().st_mode == (tmp_path / "g.txt").stat().st_mode


def test_transaction_removes_its_outputs_but_keeps_untracked_state(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with gio.transaction():
            gio.write_text(tmp_path / "a", "1")
            with gio.untracked():
                gio.write_text(tmp_path / "state", "resume from here")
            gio.write_text(tmp_path / "b", "2")
            raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["state"]
    with gio.transaction() as written:
        gio.write_text(tmp_path / "c", "3")
    assert written == [tmp_path / "c"] and (tmp_path / "c").exists()


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny repo whose run is trained (not yet sampled)."""
    repo = make_base(tmp_path_factory.mktemp("reliability") / "base")
    code, err = gangrid(repo, "train", "--quiet", STUDY, RUN)
    assert code == 0, err
    return repo


def test_stage_on_a_full_disk_is_one_line_and_writes_nothing(trained, tmp_path, monkeypatch):
    """`sample` writes samples.npz, then grid.png; the disk is full at grid.png: samples.npz goes too."""
    repo = copy_repo(trained, tmp_path / "repo")
    before = snapshot(repo)
    real = gio._fsync

    def full_at_png(path, directory=False):
        if Path(path).name.startswith(".grid.png"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, directory)

    monkeypatch.setattr(gio, "_fsync", full_at_png)
    code, err = gangrid(repo, "sample", STUDY, RUN)
    assert code == 2
    assert err.strip() == f"error: cannot write results/{STUDY}/{RUN}/grid.png: No space left on device"
    assert snapshot(repo) == before


def can_mount_tmpfs(where: Path) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True).returncode == 0
    return ok


def test_really_full_disk_during_training(trained, tmp_path):
    """A 64 KiB filesystem as results/: the training log and the final checkpoint (hundreds of KiB) do not
    fit. One error line naming the file, no checkpoint.pt/config.json/status.json, no temp file; needs root
    to mount."""
    repo = copy_repo(trained, tmp_path / "repo")
    for p in (repo / "results").rglob("*"):
        p.unlink() if p.is_file() else None
    mount = repo / "results"
    if not can_mount_tmpfs(mount):
        pytest.skip("cannot mount a small tmpfs here (needs root): covered by the simulated full-disk tests")
    try:
        code, err = gangrid(repo, "train", "--quiet", STUDY, RUN)
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: cannot write results/{STUDY}/{RUN}/"), err
        assert "space" in lines[0].lower()
        left = sorted(p.relative_to(mount).as_posix() for p in mount.rglob("*") if p.is_file())
        assert all(p.startswith(f"{STUDY}/{RUN}/train_log/") for p in left), left  # resumable log only
        assert list((repo / "checkpoints" / STUDY / RUN).glob("step_*.pt"))  # kept: the rerun resumes
    finally:
        subprocess.run(["umount", str(mount)], check=True)


# --- train logs -----------------------------------------------------------------------------

def test_truncate_logs_keeps_the_resumed_step_and_drops_torn_rows(tmp_path):
    tsv = tmp_path / "plots" / "metrics" / "loss_g.tsv"
    tsv.parent.mkdir(parents=True)
    tsv.write_text("step\tloss_g\n5\t0.1\n10\t0.2\n15\t0.3\n2")
    truncate_logs(tmp_path, 10)
    assert tsv.read_text() == "step\tloss_g\n5\t0.1\n10\t0.2\n"


# --- safe YAML ------------------------------------------------------------------------------

def test_duplicate_keys_are_refused_but_merge_overrides_allowed(tmp_path, params):
    import yaml

    text = yaml.safe_dump(params, sort_keys=False)
    ok = text.replace("tricks:\n  none: {}\n", "tricks:\n  none: &n {a: {x: 1}}\n  none2: {<<: *n, a: {x: 2}}\n", 1)
    assert ok != text
    (tmp_path / "ok.yaml").write_text(ok)
    assert load_params(tmp_path / "ok.yaml")["tricks"]["none2"] == {"a": {"x": 2}}
    (tmp_path / "dup.yaml").write_text(text.replace("train:\n  steps:", "train:\n  steps: 3\n  steps:", 1))
    with pytest.raises(ConfigError, match=r"dup.yaml: malformed YAML at line \d+, column 3: duplicate key 'steps'"):
        load_params(tmp_path / "dup.yaml")
