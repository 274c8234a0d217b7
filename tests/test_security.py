"""Loading never runs code: checkpoints crafted to run code when unpickled are refused (directly,
as a run's checkpoint.pt, and as a resume checkpoint), YAML is loaded safely, and no loader in
the package can unpickle arbitrary objects."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
import torch

from gangrid import io as gio
from gangrid.errors import CheckpointError
from reliability_util import RUN, STUDY, copy_repo, gangrid, make_base

SRC = Path(__file__).resolve().parents[1] / "src" / "gangrid"


class Payload:
    """Unpickling this calls exec(), which writes a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('code ran')",))


def craft_torch(path: Path, marker: Path) -> Path:
    """A genuine torch zip checkpoint whose data.pkl runs exec() on load (weights_only=False)."""
    torch.save({"config_hash": "x", "state": {"step": 10, "payload": Payload(marker)}}, path)
    return path


def craft_pickle(path: Path, marker: Path) -> Path:
    """A bare pickle (the legacy torch format) doing the same."""
    path.write_bytes(pickle.dumps({"state": Payload(marker)}, protocol=2))
    return path


def test_the_crafted_file_really_runs_code_when_loaded_unsafely(tmp_path):
    """Control: without weights_only the file does run its code (so the refusal tests mean something)."""
    marker = tmp_path / "ran"
    torch.load(craft_torch(tmp_path / "evil.pt", marker), weights_only=False)
    assert marker.read_text() == "code ran"


@pytest.mark.parametrize("craft", [craft_torch, craft_pickle], ids=["torch-zip", "bare-pickle"])
def test_load_torch_refuses_code(tmp_path, craft):
    marker = tmp_path / "ran"
    path = craft(tmp_path / "evil.pt", marker)
    with pytest.raises(CheckpointError, match=r"refusing checkpoint .*evil\.pt") as info:
        gio.load_torch(path)
    assert not marker.exists()
    if craft is craft_torch:
        assert "could run code when loaded" in str(info.value) and "exec" in str(info.value)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    repo = make_base(tmp_path_factory.mktemp("security") / "base")
    code, err = gangrid(repo, "train", "--quiet", STUDY, RUN)
    assert code == 0, err
    return repo


def test_sample_refuses_a_crafted_run_checkpoint(trained, tmp_path):
    repo = copy_repo(trained, tmp_path / "repo")
    marker = tmp_path / "ran"
    craft_torch(repo / "results" / STUDY / RUN / "checkpoint.pt", marker)
    code, err = gangrid(repo, "sample", STUDY, RUN)
    assert code == 2 and not marker.exists()
    assert err.startswith(f"error: refusing checkpoint results/{STUDY}/{RUN}/checkpoint.pt: it holds a pickled object that could run code")
    assert not (repo / "results" / STUDY / RUN / "samples.npz").exists()


def test_train_refuses_a_crafted_resume_checkpoint(trained, tmp_path):
    repo = copy_repo(trained, tmp_path / "repo")
    reference = (repo / "results" / STUDY / RUN / "checkpoint.pt").read_bytes()
    marker = tmp_path / "ran"
    evil = repo / "checkpoints" / STUDY / RUN / "step_00000010.pt"
    evil.parent.mkdir(parents=True)
    craft_torch(evil, marker)
    code, err = gangrid(repo, "train", "--quiet", STUDY, RUN)
    assert code == 0 and not marker.exists()
    assert "warning: refusing checkpoint checkpoints/" in err and "could run code" in err, err
    assert not evil.exists()
    assert (repo / "results" / STUDY / RUN / "checkpoint.pt").read_bytes() == reference  # trained from step 0


def test_no_unsafe_loader_in_the_package():
    """Every torch.load passes weights_only=True; YAML is only read by safe loaders; numpy never
    unpickles; the only pickle loader is CIFAR-10's restricted one."""
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        rel = path.relative_to(SRC).as_posix()
        for m in re.finditer(r"torch\.load\((?P<args>[^)]*)\)", text):
            if "weights_only=True" not in m.group("args"):
                problems.append(f"{rel}: {m.group(0)}")
        for m in re.finditer(r"yaml\.(load|load_all|unsafe_load|full_load)\((?P<args>[^)]*)\)", text):
            if m.group(1) != "load" or "Loader=UniqueKeyLoader" not in m.group("args"):
                problems.append(f"{rel}: {m.group(0)}")
        if re.search(r"allow_pickle\s*=\s*True", text):
            problems.append(f"{rel}: allow_pickle=True")
        for m in re.finditer(r"pickle\.(loads?|Unpickler)\b", text):
            if rel != "data/cifar10.py":
                problems.append(f"{rel}: {m.group(0)}")
    assert not problems, problems
    from gangrid.yaml12 import UniqueKeyLoader
    import yaml

    # SafeLoader or libyaml's CSafeLoader: either way the safe constructor, never the full/unsafe one
    assert issubclass(UniqueKeyLoader, yaml.constructor.SafeConstructor)
    assert not issubclass(UniqueKeyLoader, (yaml.constructor.FullConstructor, yaml.constructor.UnsafeConstructor))
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.load("!!python/object/apply:os.system ['true']", Loader=UniqueKeyLoader)
