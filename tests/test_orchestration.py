"""Incremental DVC pipeline, DVC experiments/metrics/plots/remote, and Snakemake executors on a tiny grid.

One tiny repository (one study, one 2-D dataset, one run per loss) is reproduced
once by `dvc repro` and committed; the tests below then change it step by step,
in file order (each test leaves the repo committed and up to date), or work on
copies of it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from gangrid.config import iter_runs, load_params
from pipeline_repo import REPO, git_commit, make_repo, run_stage_names, sh, stages_run, tiny_grid, write

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]

REPORTING = {"aggregate", "plots", "report"}
INDEX = {"params_index"}  # reruns on any change to params.yaml (cheap): it writes the run stages' params
GIT_ENV = {"GIT_AUTHOR_NAME": "gangrid-tests", "GIT_AUTHOR_EMAIL": "tests@gangrid.invalid", "GIT_COMMITTER_NAME":
           "gangrid-tests", "GIT_COMMITTER_EMAIL": "tests@gangrid.invalid", "GIT_CONFIG_COUNT": "1",
           "GIT_CONFIG_KEY_0": "commit.gpgsign", "GIT_CONFIG_VALUE_0": "false"}


def readme_workflow() -> list[str]:
    """The commands of the README's experiment workflow: the first code block under "Experiments with DVC"."""
    section = (REPO / "README.md").read_text().split("## Experiments with DVC", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    return [c for c in commands if c]


@pytest.fixture(scope="module")
def grid_repo(tmp_path_factory) -> Path:
    """The tiny grid reproduced and committed as the README says after `make run` (its `git add` line)."""
    repo = make_repo(tmp_path_factory.mktemp("orchestration") / "repo", edit=tiny_grid, steps=10)
    git_commit(repo, "tiny grid")
    sh(["dvc", "repro"], repo)
    make_run, commit, *_ = readme_workflow()
    assert make_run.startswith("make run") and commit.startswith("git add"), readme_workflow()
    sh(["bash", "-c", commit], repo, env=GIT_ENV)
    assert sh(["git", "status", "--porcelain"], repo).stdout == ""
    return repo


def params_of(repo: Path) -> dict:
    return load_params(repo / "params.yaml")


def edit_params(repo: Path, edit) -> dict:
    """Apply `edit(params)` to the repo's params.yaml; returns the new params."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    edit(params)
    write(repo / "params.yaml", params)
    return params


def copy_repo(repo: Path, dest: Path) -> Path:
    shutil.copytree(repo, dest, symlinks=True)
    return dest


def run_files(repo: Path, name: str) -> dict[str, bytes]:
    """`name` (e.g. metrics.json) of every run of the repo's grid, by path."""
    return {spec.dir.as_posix(): (repo / spec.dir / name).read_bytes() for spec in iter_runs(params_of(repo))}


# ---- DVC ----------------------------------------------------------------------------------


def test_second_repro_runs_nothing(grid_repo):
    out = sh(["dvc", "repro"], grid_repo).stdout
    assert stages_run(out) == set(), out
    assert "Data and pipelines are up to date" in out
    assert "up to date" in sh(["dvc", "status"], grid_repo).stdout


def test_metrics_and_plots_are_declared(grid_repo):
    params = params_of(grid_repo)
    runs = [spec.dir.as_posix() for spec in iter_runs(params)]
    shown = json.loads(sh(["dvc", "metrics", "show", "--json"], grid_repo).stdout)
    (workspace,) = shown.values()  # one revision: the workspace
    files = workspace["data"]
    for run in runs:
        metrics = files[f"{run}/metrics.json"]["data"]
        on_disk = json.loads((grid_repo / run / "metrics.json").read_text())
        numbers = {k: v for k, v in on_disk.items() if isinstance(v, (int, float))}
        assert numbers and {k: metrics[k] for k in numbers} == numbers
    for ds in params["datasets"]:
        assert files[f"results/real/{ds}/metrics.json"]["data"]
        assert files[f"models/classifier/{ds}.json"]["data"]

    plots = json.loads(sh(["dvc", "plots", "show", "--json"], grid_repo).stdout)
    assert not plots.get("errors"), plots.get("errors")
    for run in runs:
        curves = sorted((grid_repo / run / "train_log/plots/metrics").glob("*.tsv"))
        assert {"loss_d.tsv", "loss_g.tsv"} <= {c.name for c in curves}
        for curve in curves:
            rel = curve.relative_to(grid_repo).as_posix()
            assert rel in plots["data"], rel
            spec = plots["data"][rel][0]
            assert spec["type"] == "vega" and "workspace" in spec["revisions"]
            assert json.dumps(spec["content"]).count('"step"') > 0  # x axis: the training step


@pytest.mark.parametrize("profile", ["local", "slurm", "cluster"])
def test_every_profile_loads_and_sees_the_grid_up_to_date(grid_repo, profile):
    """Snakemake (any profile) agrees that the grid dvc just reproduced is up to date."""
    out = sh(["snakemake", "-n", "--profile", f"profiles/{profile}"], grid_repo).stdout
    assert "Nothing to be done" in out, out[-2000:]


def test_snakemake_cluster_generic_completes_the_grid(grid_repo, tmp_path):
    """(4) the grid under `--executor cluster-generic`, each job submitted through a local submit command."""
    repo = copy_repo(grid_repo, tmp_path / "cg")
    for rel in ["results/modes2d", "reports/tables", "reports/figures", "reports/report.md"]:
        shutil.rmtree(repo / rel) if (repo / rel).is_dir() else (repo / rel).unlink()
    proc = sh([
        "snakemake", "-j2", "--executor", "cluster-generic",
        "--cluster-generic-submit-cmd", "profiles/cluster/local-submit.sh",
        "--seconds-between-status-checks", "1", "--latency-wait", "5",
    ], repo)
    runs = list(iter_runs(params_of(repo)))
    # every train/sample/evaluate job went through the submit command; reporting ran locally
    submitted = sorted(p.name for p in (repo / "logs/cluster").glob("snakejob.*.sh.out"))
    assert len(submitted) == 3 * len(runs), (submitted, proc.stdout[-2000:])
    assert {name.split(".")[1] for name in submitted} == {"train", "sample", "evaluate"}
    # same numbers as dvc repro, logs and benchmarks for the runs
    assert run_files(repo, "metrics.json") == run_files(grid_repo, "metrics.json")
    for spec in runs:
        assert (repo / "logs/train" / spec.study / f"{spec.name}.log").exists()
        bench = (repo / "benchmarks/train" / spec.study / f"{spec.name}.tsv").read_text().splitlines()
        assert bench[0].split("\t")[:2] == ["s", "h:m:s"] and len(bench) == 2
        assert (repo / "benchmarks/evaluate" / spec.study / f"{spec.name}.tsv").exists()
    assert (repo / "reports/report.md").exists()
    assert "Nothing to be done" in sh(["snakemake", "-n"], repo).stdout

    # the HTML report: tables, figures and each run's sample grid, embedded
    sh(["snakemake", "--report", "snakemake-report.html"], repo)
    html = (repo / "snakemake-report.html").read_text()
    figures = [p.name for p in (repo / "reports/figures").glob("*.png")]
    assert figures and all(name in html for name in figures)
    assert "runs.csv" in html and "report.md" in html
    assert all(spec.name in html for spec in runs)


def test_readme_experiment_workflow(grid_repo):
    """The README's experiment, command for command, on the committed grid (the fixture ran `make run`'s `dvc repro`
    and the README's commit): the experiment reruns the runs of loss preset ns, and `dvc exp show`, `dvc metrics diff
    HEAD <exp>` and `gangrid compare HEAD <exp>` show HEAD's side and the experiment's."""
    _, _, run, show, diff, compare = readme_workflow()
    exp = run.split("-n ", 1)[1].split()[0]
    key = run.split("++", 1)[1].split("=", 1)[0]  # losses.<preset>.train.lr
    preset = key.split(".")[1]
    params = params_of(grid_repo)
    changed = {s.dir.as_posix() for s in iter_runs(params) if s.loss == preset}
    try:
        out = sh(["bash", "-c", run], grid_repo).stdout
        assert changed and stages_run(out) == run_stage_names(params, lambda s: s.loss == preset) | REPORTING | INDEX, out
        assert exp in sh(["bash", "-c", show], grid_repo).stdout
        proc = sh(["bash", "-c", diff], grid_repo)
        assert "failed to load" not in proc.stdout + proc.stderr, proc.stderr
        rows = [line.split() for line in proc.stdout.splitlines()[1:] if line.strip()]
        assert rows and {os.path.dirname(r[0]) for r in rows} <= changed and all(len(r) == 5 for r in rows), proc.stdout
        compared = sh(["bash", "-c", compare], grid_repo).stdout
        assert key in compared and f"ring8-mlp2d-{preset}-none" in compared, compared
    finally:  # leave the workspace as HEAD has it for the tests below (`dvc exp run` leaves the experiment in it;
        # the checkout gives files new mtimes, hence this test comes after the Snakemake ones that need the old)
        sh(["git", "reset", "-q", "--hard"], grid_repo)
        sh(["dvc", "checkout", "--force", "-q"], grid_repo)


def test_changing_one_loss_preset_reruns_only_its_runs(grid_repo):
    """(2) a change to `losses.hinge` reruns exactly the hinge runs, then aggregate/plots/report."""
    before = run_files(grid_repo, "metrics.json")

    def slower_hinge(params):
        hinge = params["losses"]["hinge"]
        hinge["train"] = {**hinge.get("train", {}), "lr": params["train"]["lr"] / 2}

    params = edit_params(grid_repo, slower_hinge)
    out = sh(["dvc", "repro"], grid_repo).stdout
    hinge = run_stage_names(params, lambda s: s.loss == "hinge")
    assert hinge and stages_run(out) == hinge | REPORTING | INDEX, out

    # what changed, in DVC's words
    pdiff = json.loads(sh(["dvc", "params", "diff", "--json"], grid_repo).stdout)["params.yaml"]
    assert set(pdiff) == {"losses.hinge.train"} or set(pdiff) == {"losses.hinge.train.lr"}, pdiff
    mdiff = json.loads(sh(["dvc", "metrics", "diff", "--json"], grid_repo).stdout)
    hinge_dirs = {s.dir.as_posix() for s in iter_runs(params) if s.loss == "hinge"}
    assert mdiff and {Path(p).parent.as_posix() for p in mdiff} <= hinge_dirs, mdiff
    after = run_files(grid_repo, "metrics.json")
    assert {d for d in after if after[d] != before[d]} <= hinge_dirs
    assert all(after[d] == before[d] for d in after if d not in hinge_dirs)
    pldiff = json.loads(sh(["dvc", "plots", "diff", "HEAD", "--json"], grid_repo).stdout)
    curve = f"{sorted(hinge_dirs)[0]}/train_log/plots/metrics/loss_g.tsv"
    assert set(pldiff["data"][curve][0]["revisions"]) == {"HEAD", "workspace"}
    git_commit(grid_repo, "slower hinge")


def test_adding_a_seed_adds_only_the_new_runs(grid_repo):
    """(3) a new seed adds its runs; every existing run is left alone."""
    old = params_of(grid_repo)
    before = run_files(grid_repo, "metrics.json")
    params = edit_params(grid_repo, lambda p: p["studies"]["modes2d"]["seeds"].append(1))
    out = sh(["dvc", "repro"], grid_repo).stdout
    new = run_stage_names(params) - run_stage_names(old)
    assert new == run_stage_names(params, lambda s: s.seed == 1) and new
    assert stages_run(out) == new | REPORTING | INDEX, out
    after = run_files(grid_repo, "metrics.json")
    assert {d: after[d] for d in before} == before
    runs_csv = (grid_repo / "reports/tables/runs.csv").read_text()
    assert all(spec.name in runs_csv for spec in iter_runs(params))
    git_commit(grid_repo, "seed 1")


def test_push_and_pull_through_the_default_local_remote(grid_repo):
    sh(["dvc", "push"], grid_repo)
    remote = grid_repo / ".dvc-remote"
    assert remote.is_dir() and any(p.is_file() for p in remote.rglob("*"))
    spec = next(iter_runs(params_of(grid_repo)))
    checkpoint = grid_repo / spec.dir / "checkpoint.pt"
    data = checkpoint.read_bytes()
    shutil.rmtree(grid_repo / ".dvc/cache")
    checkpoint.unlink()
    sh(["dvc", "pull"], grid_repo)
    assert checkpoint.read_bytes() == data
    assert "up to date" in sh(["dvc", "status"], grid_repo).stdout


def test_experiment_run_with_set_param_and_show(grid_repo):
    """`dvc exp run -S key=value` reruns what depends on the key; `dvc exp show` lists the experiment."""
    text = "experiment from the test"
    out = sh(["dvc", "exp", "run", "-n", "desc-exp", "-S", f"studies.modes2d.description={text}"], grid_repo).stdout
    assert stages_run(out) == REPORTING | INDEX, out  # only the reporting stages read `studies`
    shown = json.loads(sh(["dvc", "exp", "show", "--json"], grid_repo).stdout)
    exps = [rev for base in shown for exp in (base.get("experiments") or []) for rev in exp["revs"]]
    exp = next(r for r in exps if r["name"] == "desc-exp")
    data = exp["data"]
    assert data["params"]["params.yaml"]["data"]["studies"]["modes2d"]["description"] == text
    spec = next(iter_runs(params_of(grid_repo)))
    assert data["metrics"][f"{spec.dir.as_posix()}/metrics.json"]["data"]
    assert "desc-exp" in sh(["dvc", "exp", "show", "--csv"], grid_repo).stdout


# ---- Snakemake on SLURM: profile dry run and a dry submission through stub SLURM commands ----

STUBS = {
    # records its command line, prints a new job id; under a lock, since the executor submits jobs
    # concurrently (a run that gave 5 jobs 2 ids ended with Snakemake hanging after its last status check)
    "sbatch": 'exec 9>"$STUB_DIR/count.lock"; flock 9\n'
              'n=$(( $(cat "$STUB_DIR/count" 2>/dev/null || echo 0) + 1 )); echo $n > "$STUB_DIR/count"\n'
              'printf "%s\\n" "$*" >> "$STUB_DIR/sbatch.log"; echo $n',
    # every job submitted so far has failed: Snakemake stops after the first round
    "squeue": 'for i in $(seq 1 "$(cat "$STUB_DIR/count" 2>/dev/null || echo 0)"); do echo "$i|FAILED"; done',
    "sacctmgr": 'echo "$GANGRID_SLURM_ACCOUNT"',
    "sacct": "exit 1",
    "sinfo": 'echo PARTITION; echo "$GANGRID_SLURM_PARTITION*"',
    "scontrol": 'echo "MinJobAge               = 300 sec"',
    "scancel": "exit 0",
}


def stub_slurm(bin_dir: Path) -> None:
    """Stand-ins for the SLURM client commands the executor plugin calls."""
    bin_dir.mkdir(parents=True)
    for name, body in STUBS.items():
        path = bin_dir / name
        path.write_text(f"#!/usr/bin/env bash\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)


def sbatch_option(line: str, option: str) -> str | None:
    """The value of `option` (`--mem`, `-t`, `--gpus=`, ...) in an sbatch command line."""
    parts = line.split()
    for i, part in enumerate(parts):
        if option.endswith("=") and part.startswith(option):
            return part[len(option):]
        if part == option:
            return parts[i + 1].strip("'")
    return None


def test_slurm_profile_requests_resources_from_params(grid_repo, tmp_path):
    """(5) profiles/slurm: resources from params and placement from the environment become sbatch options."""
    repo = copy_repo(grid_repo, tmp_path / "slurm")
    def gpus(p):
        p["resources"]["train"].update(gpu=1)
        p["resources"]["eval"].update(gpu_share=2)  # shards of a GPU: --gres=shard:2, never --gpus

    params = edit_params(repo, gpus)
    train_res, eval_res = params["resources"]["train"], params["resources"]["eval"]
    env = {
        "GANGRID_SLURM_ACCOUNT": "gan_lab", "GANGRID_SLURM_PARTITION": "cpu_q", "GANGRID_SLURM_GPU_PARTITION": "gpu_q",
    }

    # dry run: the resources Snakemake will hand to the executor
    dry = sh(["snakemake", "--profile", "profiles/slurm", "-n", "--forcerun", "train", "evaluate_real"], repo, env=env).stdout
    jobs = [block for block in dry.split("rule ")[1:]]
    train_jobs = [b for b in jobs if b.startswith("train:")]
    assert len(train_jobs) == len(list(iter_runs(params)))
    for block in train_jobs:
        res = next(line for line in block.splitlines() if line.strip().startswith("resources:"))
        for want in (f"mem_mb={train_res['mem_mb']}", f"runtime={train_res['runtime']}", "gpu=1",
                     "slurm_partition=gpu_q", "slurm_account=gan_lab"):
            assert want in res, res

    # dry submission: sbatch is a stub that records its command line
    stub_slurm(tmp_path / "bin")
    env |= {"PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}", "STUB_DIR": str(tmp_path)}
    sh(["snakemake", "--profile", "profiles/slurm", "--forcerun", "train", "evaluate_real",
        "--slurm-init-seconds-before-status-checks", "1", "--slurm-status-command", "squeue"], repo, check=False, env=env)
    lines = (tmp_path / "sbatch.log").read_text().splitlines()
    assert (tmp_path / "count").read_text().strip() == str(len(lines))  # one id per submission
    by_rule: dict[str, list[str]] = {}
    for line in lines:
        rule = sbatch_option(line, "--comment").removeprefix("rule_").split("_wildcards_")[0]
        by_rule.setdefault(rule, []).append(line)
    assert set(by_rule) == {"train", "evaluate_real"}, lines
    assert len(by_rule["train"]) == len(list(iter_runs(params)))
    for line in by_rule["train"]:
        assert sbatch_option(line, "--gpus=") == "1"
        assert sbatch_option(line, "--mem") == str(train_res["mem_mb"])
        assert sbatch_option(line, "-t") == str(train_res["runtime"])
        assert sbatch_option(line, "--cpus-per-task=") == str(params["train"]["threads"])
        assert sbatch_option(line, "-p") == "gpu_q" and sbatch_option(line, "-A") == "gan_lab"
    for line in by_rule["evaluate_real"]:
        assert sbatch_option(line, "--gpus=") is None and sbatch_option(line, "--gres=") == "shard:2"
        assert sbatch_option(line, "--mem") == str(eval_res["mem_mb"])
        assert sbatch_option(line, "-t") == str(eval_res["runtime"])
        assert sbatch_option(line, "--cpus-per-task=") == str(params["eval"]["threads"])
        assert sbatch_option(line, "-p") == "gpu_q" and sbatch_option(line, "-A") == "gan_lab"  # a GPU job
