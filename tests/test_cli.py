"""The CLI: `validate`, `runs`, and one-line errors without traceback."""

from __future__ import annotations

import subprocess
import sys

import yaml

from gangrid.config import iter_runs


def gangrid(*args, cwd):
    return subprocess.run([sys.executable, "-m", "gangrid.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_validate_ok(repo_root):
    proc = gangrid("validate", cwd=repo_root)
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout


def test_runs_lists_the_grid(repo_root, params):
    proc = gangrid("runs", cwd=repo_root)
    assert proc.returncode == 0
    assert proc.stdout.split() == [f"{s.study}/{s.name}" for s in iter_runs(params)]


def test_user_error_is_one_line_without_traceback(tmp_path, params):
    params["studies"]["images"]["archs"] = ["dcgan_nope"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = gangrid("validate", cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "studies.images.archs[0]" in lines[0] and "dcgan_nope" in lines[0]
    assert "Traceback" not in proc.stderr


def test_train_and_sample_use_the_runs_own_thread_count(params):
    """A run's resolved train.threads (mlp2d sets 1) wins over the top-level one for its train / sample stages;
    other stages use their section's."""
    from argparse import Namespace

    import torch

    from gangrid.cli import configure_threads

    before = torch.get_num_threads()
    params["train"]["threads"] = 2  # the default grid uses 1 everywhere: make the top-level differ
    try:
        assert params["archs"]["mlp2d"]["train"]["threads"] == 1
        for command in ("train", "sample"):
            assert configure_threads(params, command, Namespace(study="modes2d", run="ring8-mlp2d-ns-none-s0")) == 1
            assert torch.get_num_threads() == 1
            assert configure_threads(params, command, Namespace(study="images", run="digits-dcgan16-ns-none-s0")) == 2
        assert configure_threads(params, "evaluate", Namespace(study="modes2d", run="ring8-mlp2d-ns-none-s0")) == \
            params["eval"]["threads"]
    finally:
        torch.set_num_threads(before)
