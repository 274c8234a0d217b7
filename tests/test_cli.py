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
