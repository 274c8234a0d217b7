"""Helpers for the reliability tests: a tiny temp repository (params.yaml + processed ring8) driven
in-process through `gangrid.cli.main`."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path
from typing import Iterator

import yaml

from gangrid.cli import main
from pipeline_repo import REPO, shrink, tiny_grid

STUDY = "modes2d"
RUN = "ring8-mlp2d-ns-none-s0"


def tiny_params(steps: int = 20) -> dict:
    """The repository's params shrunk to one study (modes2d: ring8, mlp2d, ns, none, seed 0), plus a digits preset."""
    params = tiny_grid(shrink(yaml.safe_load((REPO / "params.yaml").read_text()), steps=steps), losses=("ns",))
    params["datasets"]["digits"] = {"source": "digits", "resolution": 16, "channels": 1, "split": {"val": 0.1, "test": 0.2, "seed": 0}}
    params["archs"]["mlp2d"]["hidden"] = 32
    return params


@contextlib.contextmanager
def chdir(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def make_base(root: Path, steps: int = 20) -> Path:
    """params.yaml, the processed ring8 set and its classifier (in-training metrics use it), made through the CLI."""
    root.mkdir(parents=True, exist_ok=True)
    write_params(root, tiny_params(steps))
    with chdir(root):
        assert main(["download", "ring8"]) == 0
        assert main(["preprocess", "ring8"]) == 0
        assert main(["train-classifier", "ring8"]) == 0
    return root


def copy_repo(base: Path, dest: Path) -> Path:
    shutil.copytree(base, dest)
    return dest


def read_params(root: Path) -> dict:
    return yaml.safe_load((root / "params.yaml").read_text())


def write_params(root: Path, params: dict) -> None:
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def gangrid(root: Path, *argv: str) -> tuple[int, str]:
    """Run `gangrid <argv>` in-process in `root`; (exit status, stderr)."""
    err = io.StringIO()
    with chdir(root), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, err.getvalue()


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its size and mtime (to detect new, removed or rewritten files)."""
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}
