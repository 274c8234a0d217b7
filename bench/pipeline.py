"""No-op time of `dvc repro` and `snakemake -n` for grids of 8, 32 and 64 runs.

    python bench/pipeline.py [--runs 8 32 64] [--repeat 3]

For each size a temp copy of the repository gets a one-study grid of that many
runs (one 2-D dataset, two losses, N/2 seeds). Every stage output is then made
to exist as a small placeholder and recorded as up to date (`dvc commit` for DVC,
`snakemake --touch` for Snakemake), so the timings measure what an up-to-date
grid costs the orchestrator itself (parsing dvc.yaml / the Snakefile, expanding
the grid, hashing and comparing deps, params and outs), not training. The median
of `--repeat` calls is printed; the goal is < 10 s at 64 runs with linear growth.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from pipeline_repo import make_repo, sh, tiny_grid  # noqa: E402


def grid_of(n_runs: int):
    """A params edit: the tiny one-study grid with n_runs runs (2 losses x n_runs/2 seeds)."""

    def edit(params):
        tiny_grid(params)
        params["studies"]["modes2d"]["seeds"] = list(range(max(1, n_runs // 2)))

    return edit


def placeholder_outputs(repo: Path) -> int:
    """Create every output of every dvc.yaml stage as a small placeholder; returns how many."""
    code = (
        "from dvc.repo import Repo\n"
        "with Repo('.') as r:\n"
        "    for stage in r.index.stages:\n"
        "        for out in stage.outs:\n"
        "            print(out.def_path)\n"
    )
    paths = sh([sys.executable, "-c", code], repo).stdout.split()
    for rel in paths:
        path = repo / rel
        if path.suffix:  # a file output
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"placeholder {rel}\n")
        else:  # a directory output
            path.mkdir(parents=True, exist_ok=True)
            (path / "placeholder.tsv").write_text("step\tvalue\n1\t0\n")
    return len(paths)


def children_cpu() -> float:
    """CPU seconds (user + system) used so far by finished child processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], repo: Path, repeat: int, expect: str) -> tuple[float, float]:
    """Median wall and CPU seconds of `cmd` (which must print `expect`: nothing to do).

    CPU time is what the call costs on an idle machine; wall time also shows
    waiting for a busy CPU or disk.
    """
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu0 = time.perf_counter(), children_cpu()
        out = sh(cmd, repo).stdout
        walls.append(time.perf_counter() - start)
        cpus.append(children_cpu() - cpu0)
        if expect not in out:
            raise SystemExit(f"{' '.join(cmd)} is not a no-op:\n{out[-2000:]}")
    return statistics.median(walls), statistics.median(cpus)


def bench(n_runs: int, repeat: int, workdir: Path) -> tuple[int, int, tuple[float, float], tuple[float, float]]:
    """(runs, dvc stages, dvc no-op (wall, cpu) s, snakemake -n (wall, cpu) s) for a grid of n_runs."""
    repo = make_repo(workdir / f"grid{n_runs}", edit=grid_of(n_runs), steps=10)
    placeholder_outputs(repo)
    sh(["dvc", "commit", "--force", "--quiet"], repo)
    n_stages = len(sh(["dvc", "stage", "list", "--all", "--name-only"], repo).stdout.split())
    dvc_s = timed(["dvc", "repro"], repo, repeat, "Data and pipelines are up to date")
    sh(["snakemake", "--touch", "-j1", "--quiet"], repo)
    smk_s = timed(["snakemake", "-n"], repo, repeat, "Nothing to be done")
    n = len(sh(["gangrid", "runs"], repo).stdout.split())
    return n, n_stages, dvc_s, smk_s


def main(argv: list[str] | None = None) -> int:
    """Print the table of no-op times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print("no-op seconds, median of", args.repeat, "calls: wall (CPU user+sys)")
    print(f"{'runs':>5} {'dvc stages':>10} {'dvc repro':>16} {'snakemake -n':>16}")
    with tempfile.TemporaryDirectory(prefix="gangrid-bench-") as tmp:
        for n in args.runs:
            runs, stages, (dvc_w, dvc_c), (smk_w, smk_c) = bench(n, args.repeat, Path(tmp))
            print(f"{runs:>5} {stages:>10} {dvc_w:>8.2f} ({dvc_c:5.2f}) {smk_w:>8.2f} ({smk_c:5.2f})", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:  # pragma: no cover
        sys.exit(str(exc))
