"""No-op cost of the orchestrators on synthetic grids: `dvc repro`, `dvc status`, `dvc exp show`, `snakemake -n`.

    python bench/pipeline.py [--runs 8 32 64] [--repeat 3] [--per-study 250] [--commands dvc-repro snakemake-n ...]

For each size a temp copy of the repository gets a grid of that many runs: studies
of at most `--per-study` runs each (copies of the tiny 2-D study: one dataset, two
losses, seeds). Every stage output is then made to exist as a small placeholder and
recorded as up to date (`dvc commit` for DVC, `snakemake --touch` for Snakemake), so
the timings measure what an up-to-date grid costs the orchestrator itself (parsing
dvc.yaml / the Snakefile, expanding the grid, hashing and comparing deps, params and
outs), not training. Printed: the median wall and CPU (user + sys of the child
process) seconds of `--repeat` calls of each command, and the CPU seconds per run.
CPU time is what a call costs on an idle machine; wall time also shows waiting for a
busy CPU or disk. Each command must report that nothing is to be done, or the script
stops (`dvc status` / `dvc exp show` are checked for the same).
"""

from __future__ import annotations

import argparse
import copy
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from pipeline_repo import git_commit, make_repo, sh, tiny_grid  # noqa: E402

# name -> (command, text its output must contain when the grid is up to date)
COMMANDS: dict[str, tuple[list[str], str]] = {
    "dvc-repro": (["dvc", "repro"], "Data and pipelines are up to date"),
    "dvc-status": (["dvc", "status"], "Data and pipelines are up to date"),
    "dvc-exp-show": (["dvc", "exp", "show", "--no-pager", "--csv"], "workspace"),
    "snakemake-n": (["snakemake", "-n"], "Nothing to be done"),
}
DEFAULT_COMMANDS = ["dvc-repro", "snakemake-n"]


def grid_of(n_runs: int, per_study: int = 250):
    """A params edit: `n_runs` runs in studies of at most `per_study` runs (2 losses x seeds each)."""

    def edit(params):
        tiny_grid(params)
        template = params["studies"].pop("modes2d")
        left, i = n_runs, 0
        while left > 0:
            size = min(per_study, left)
            study = copy.deepcopy(template)
            study["seeds"] = list(range(max(1, size // 2)))
            params["studies"]["modes2d" if i == 0 else f"modes2d_{i}"] = study
            left -= size
            i += 1

    return edit


def placeholder_outputs(repo: Path) -> int:
    """Create every output of every dvc.yaml stage as a small placeholder, and every dependency that is a file
    inside an output folder (a processed dataset's manifest.json); returns how many outputs."""
    code = (
        "from dvc.repo import Repo\n"
        "with Repo('.') as r:\n"
        "    for stage in r.index.stages:\n"
        "        for out in stage.outs:\n"
        "            print('out', out.def_path)\n"
        "        for dep in stage.deps:\n"
        "            print('dep', dep.def_path)\n"
    )
    listed = [line.split(" ", 1) for line in sh([sys.executable, "-c", code], repo).stdout.splitlines()]
    outs = [rel for kind, rel in listed if kind == "out"]
    for rel in outs:
        path = repo / rel
        if path.suffix:  # a file output
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"placeholder {rel}\n")
        else:  # a directory output
            path.mkdir(parents=True, exist_ok=True)
            (path / "placeholder.tsv").write_text("step\tvalue\n1\t0\n")
    for rel in {rel for kind, rel in listed if kind == "dep"}:
        path = repo / rel
        if not path.exists() and any(path.is_relative_to(repo / o) for o in outs):
            path.write_text(f"placeholder {rel}\n")
    return len(outs)


def commit_placeholders(repo: Path) -> None:
    """Record every placeholder as up to date in the dvc.lock files.

    The study stages first: committing a run's cached outputs writes a .gitignore beside them
    inside results/, which changes the `results` folder the grid stages depend on, so those
    are committed last (in one pass the root stages were recorded before those files existed,
    and `dvc repro` then reran `aggregate` on the placeholders).
    """
    studies = sorted(str(p.relative_to(repo)) for p in (repo / "pipelines").glob("*/dvc.yaml"))
    sh(["dvc", "commit", "--force", "--quiet", *studies], repo)
    sh(["dvc", "commit", "--force", "--quiet", "dvc.yaml"], repo)


def children_cpu() -> float:
    """CPU seconds (user + system) used so far by finished child processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], repo: Path, repeat: int, expect: str) -> tuple[float, float]:
    """Median wall and CPU seconds of `cmd`, which must print `expect` (nothing to do)."""
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu0 = time.perf_counter(), children_cpu()
        proc = sh(cmd, repo)
        walls.append(time.perf_counter() - start)
        cpus.append(children_cpu() - cpu0)
        if expect not in proc.stdout + proc.stderr:
            raise SystemExit(f"{' '.join(cmd)} is not a no-op:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return statistics.median(walls), statistics.median(cpus)


def prepare(n_runs: int, per_study: int, workdir: Path, snakemake: bool) -> tuple[Path, int, float]:
    """A temp repo with an up-to-date grid of `n_runs` placeholder runs: (repo, runs, setup seconds)."""
    start = time.perf_counter()
    repo = make_repo(workdir / f"grid{n_runs}", edit=grid_of(n_runs, per_study), steps=10)
    placeholder_outputs(repo)
    sh(["gangrid", "params-index"], repo)  # the real params index, which the run stages read
    commit_placeholders(repo)
    if snakemake:
        sh(["snakemake", "--touch", "-j1", "--quiet"], repo)
    git_commit(repo, "placeholder grid")  # `dvc exp show` shows the commit and the workspace
    runs = len(sh(["gangrid", "runs"], repo).stdout.split())
    return repo, runs, time.perf_counter() - start


def bench(n_runs: int, repeat: int, workdir: Path, commands: list[str], per_study: int = 250) -> dict[str, object]:
    """Runs, stages and {command: (wall, cpu)} no-op seconds for a grid of n_runs."""
    repo, runs, setup = prepare(n_runs, per_study, workdir, any(c.startswith("snakemake") for c in commands))
    n_stages = len(sh(["dvc", "stage", "list", "--all", "--name-only"], repo).stdout.split())
    times = {name: timed(COMMANDS[name][0], repo, repeat, COMMANDS[name][1]) for name in commands}
    return {"runs": runs, "stages": n_stages, "setup": setup, "times": times}


def main(argv: list[str] | None = None) -> int:
    """Print the table of no-op times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--per-study", type=int, default=250, help="most runs per study (the grid's studies)")
    parser.add_argument("--commands", nargs="+", choices=list(COMMANDS), default=DEFAULT_COMMANDS)
    args = parser.parse_args(argv)
    print(f"no-op seconds, median of {args.repeat} call(s): wall (CPU user+sys) [CPU ms per run]")
    print(f"{'runs':>5} {'studies':>7} {'dvc stages':>10} " + " ".join(f"{c:>26}" for c in args.commands))
    with tempfile.TemporaryDirectory(prefix="gangrid-bench-") as tmp:
        for n in args.runs:
            row = bench(n, args.repeat, Path(tmp), args.commands, args.per_study)
            cells = [f"{w:8.2f} ({c:6.2f}) [{1000 * c / row['runs']:5.1f}]" for w, c in row["times"].values()]
            studies = -(-row["runs"] // args.per_study)
            print(f"{row['runs']:>5} {studies:>7} {row['stages']:>10} " + " ".join(f"{c:>26}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:  # pragma: no cover
        sys.exit(str(exc))
