"""Temp copies of the repository with a tiny grid, for the dvc / snakemake integration tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from gangrid.config import iter_runs
from gangrid.pipelines import write_pipelines

REPO = Path(__file__).resolve().parents[1]
COPY = ["Snakefile", "dvc.yaml", "pipelines", "params.yaml", ".dvcignore", ".gitignore", "src", "workflow", "profiles", "presets"]
PER_STUDY_STAGES = ("train", "sample", "evaluate")
GIT_ID = ["-c", "user.name=gangrid-tests", "-c", "user.email=tests@gangrid.invalid", "-c", "commit.gpgsign=false"]


def shrink(params: dict[str, Any], steps: int = 20) -> dict[str, Any]:
    """A tiny version of the grid: few steps, few samples, one seed, at most two values per axis
    (the baseline's kept), a quick classifier."""
    tiny_train = {"steps": steps, "log_every": 5, "checkpoint_every": 10}
    params["train"].update(tiny_train, batch_size=32)
    for name, study in params["studies"].items():
        study["seeds"] = study["seeds"][:1]
        base = study.get("baseline") or {}
        for axis, key in (("archs", "arch"), ("losses", "loss"), ("tricks", "trick")):
            keep = [base[key]] if key in base else []
            study[axis] = (keep + [v for v in study[axis] if v not in keep])[:2]
        study.setdefault("train", {})
        study["train"].update(tiny_train)
    for ds in params["datasets"].values():
        if "n_points" in ds:
            ds["n_points"] = 2000
    ev = params["eval"]
    ev.update({"n_samples": 200, "kid_subsets": 5, "kid_subset_size": 100, "every": 5})
    ev.setdefault("track", {}).update({"n": 200, "kid_subsets": 5, "kid_subset_size": 100})
    ev.setdefault("classifier", {}).update({"epochs": 2})
    ev["classifier"]["floor"] = {"default": 0.0}
    return params


def make_repo(dest: Path, edit=None, steps: int = 20) -> Path:
    """Copy the pipeline files into `dest`, shrink the grid (then apply `edit(params)`), init git + DVC."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "dvc.lock"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    (dest / ".dvc").mkdir(exist_ok=True)
    shutil.copy2(REPO / ".dvc" / "config", dest / ".dvc" / "config")
    params = shrink(yaml.safe_load((dest / "params.yaml").read_text()), steps)
    if edit is not None:
        edit(params)
    write(dest / "params.yaml", params)
    write_pipelines(params, dest)  # the per-study dvc.yaml files of the studies left
    sh(["git", "init", "-q"], dest)
    return dest


def tiny_grid(params: dict[str, Any], losses: tuple[str, ...] = ("ns", "hinge"), dataset: str = "ring8") -> dict[str, Any]:
    """One study (modes2d) on one 2-D dataset: one run per loss, seed 0 (the orchestration tests' grid).

    Every job uses one thread, so two jobs share the 2 cores of a CI machine (or a 2-CPU test cluster);
    no PDF is compiled.
    """
    for section in ("train", "eval"):
        params[section]["threads"] = 1
    if "report" in params:
        params["report"]["pdf"] = "never"  # the paper's LaTeX compile is the report tests' business
    study = params["studies"]["modes2d"]
    study.update(datasets=[dataset], archs=["mlp2d"], losses=list(losses), tricks=["none"], seeds=[0])
    study["baseline"] = {"loss": losses[0], "trick": "none"}
    params["studies"] = {"modes2d": study}
    params["datasets"] = {dataset: params["datasets"][dataset]}
    return params


def git_commit(repo: Path, message: str) -> None:
    """Commit everything git does not ignore (DVC-tracked outputs are git-ignored by DVC)."""
    sh(["git", "add", "-A"], repo)
    sh(["git", *GIT_ID, "commit", "-q", "-m", message], repo)


def run_stage_names(params: dict[str, Any], where=lambda spec: True) -> set[str]:
    """DVC addresses of the train/sample/evaluate stages of the runs `where(spec)` selects."""
    return {
        f"pipelines/{s.study}/dvc.yaml:{phase}@{s.dataset}-{s.arch}-{s.loss}-{s.trick}-{s.seed}"
        for s in iter_runs(params) if where(s) for phase in PER_STUDY_STAGES
    }


def stages_run(dvc_output: str) -> set[str]:
    """Names of the stages a `dvc repro` / `dvc exp run` ran (its "Running stage 'X':" lines)."""
    return set(re.findall(r"Running stage '([^']+)'", dvc_output))


def write(path: Path, params: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def sh(cmd: list[str], cwd: Path, check: bool = True, timeout: int = 900, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a command in `cwd`; on failure the assertion shows its output."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def gangrid_runs(repo: Path) -> set[str]:
    """`study/run` names from `gangrid runs`."""
    return set(sh(["gangrid", "runs"], repo).stdout.split())


def dvc_train_runs(repo: Path) -> set[str]:
    """`study/run` names of the train stages in `dvc stage list --all`."""
    out = set()
    for line in sh(["dvc", "stage", "list", "--all"], repo).stdout.splitlines():
        m = re.match(r"pipelines/([^/]+)/dvc\.yaml:train@(\S+)", line)
        if m:
            *rest, seed = m.group(2).split("-")
            out.add(f"{m.group(1)}/{'-'.join(rest)}-s{seed}")
    return out


def snakemake_train_runs(repo: Path, extra: list[str] | None = None) -> set[str]:
    """`study/run` of every train job Snakemake plans (from `snakemake --summary`)."""
    proc = sh(["snakemake", "--summary", *(extra or [])], repo)
    out = set()
    for line in proc.stdout.splitlines():
        path = line.split("\t")[0]
        if path.endswith("/checkpoint.pt") and path.startswith("results/"):
            _, study, run, _ = path.split("/")
            out.add(f"{study}/{run}")
    return out
