"""The main job's wall time, where it goes, and the machine's calibration figure, from a fresh clone.

Clones this repository (its committed state) into a temporary folder, runs the main job there as
`make run` does after its setup (`gangrid pipelines`, then `gangrid warm -- gangrid repro -j N`),
optionally also a plain `dvc repro` in a second clone, and prints:

* the wall time of each, and a breakdown from the runs' status.json files: training loops, of which
  in-training metrics (`eval_seconds`), per study; the convergence verdicts;
* the calibration figure of the machine: the reference loop's steps/s of `bench/train_step.py`
  (the pytorch/examples DCGAN loop), measured right before and right after on the same machine, so
  that a time measured here can be scaled to another machine.

    python bench/main_job.py                 # make run's command (jobs = CPU count)
    python bench/main_job.py --plain         # and a plain `dvc repro` in a second clone
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def clone(dest: Path) -> Path:
    """A clean clone of the committed repository."""
    subprocess.run(["git", "clone", "-q", str(REPO), str(dest)], check=True)
    return dest


def timed(cmd: str, cwd: Path) -> float:
    """Wall seconds of a shell command (its output goes to <cwd>/main_job.log); raises if it fails."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           # the tools of this interpreter's environment, and the clone's own code (not an editable install's)
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": f"{cwd / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    start = time.perf_counter()
    with open(cwd / "main_job.log", "a") as log:
        subprocess.run(cmd, shell=True, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, check=True, env=env)
    return time.perf_counter() - start


def breakdown(repo: Path) -> dict[str, dict[str, float]]:
    """Per study: runs, training seconds, in-training evaluation seconds, and the convergence verdicts."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for status_file in sorted((repo / "results").glob("*/*/status.json")):
        study = status_file.parent.parent.name
        if study == "real":
            continue
        status = json.loads(status_file.read_text())
        row = out[study]
        row["runs"] += 1
        row["train_s"] += float(status.get("train_seconds", 0.0))
        row["eval_s"] += float(status.get("eval_seconds", 0.0))
        verdict = (status.get("convergence") or {}).get("verdict", "not tracked")
        row[verdict] += 1
    return out


def calibration(repeats: int) -> str:
    """The reference loop's steps/s lines of bench/train_step.py on this machine."""
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "train_step.py"), "--repeats", str(repeats)],
                          capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def report(name: str, wall: float, repo: Path) -> None:
    """Print the wall time and the per-study breakdown of one finished job."""
    rows = breakdown(repo)
    train = sum(r["train_s"] for r in rows.values())
    evals = sum(r["eval_s"] for r in rows.values())
    print(f"\n{name}: {wall:.0f} s wall ({wall / 60:.1f} min)")
    print(f"training loops (sum over runs): {train:.0f} s, of which in-training metrics {evals:.0f} s "
          f"({100 * evals / max(train, 1e-9):.1f}%)")
    print("| study | runs | train s | eval s | eval share | converged | unconverged | undetermined |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for study, r in rows.items():
        share = 100 * r["eval_s"] / max(r["train_s"], 1e-9)
        print(f"| {study} | {int(r['runs'])} | {r['train_s']:.0f} | {r['eval_s']:.0f} | {share:.1f}% | "
              f"{int(r['converged'])} | {int(r['unconverged'])} | {int(r['undetermined'])} |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="gangrid repro -j (default: CPU count)")
    p.add_argument("--plain", action="store_true", help="also time a plain `dvc repro` (no worker, one stage at a time)")
    p.add_argument("--repeats", type=int, default=3, help="repeats of the calibration loop")
    p.add_argument("--keep", action="store_true", help="keep the clones (their paths are printed)")
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gangrid-main-job-"))
    try:
        before = calibration(args.repeats)  # the box's speed drifts: bracket the job with two measurements
        main_repo = clone(root / "main")
        wall = timed(f"gangrid pipelines && gangrid warm -- gangrid repro -j {args.jobs}", main_repo)
        report(f"gangrid warm -- gangrid repro -j {args.jobs} (make run without its setup)", wall, main_repo)
        if args.plain:
            plain_repo = clone(root / "plain")
            wall = timed("gangrid pipelines && dvc repro", plain_repo)
            report("plain dvc repro", wall, plain_repo)
        print("\ncalibration (bench/train_step.py, same machine), right before the job:")
        print(re.sub(r"^", "  ", before, flags=re.M))
        print("and right after:")
        print(re.sub(r"^", "  ", calibration(args.repeats), flags=re.M))
        if args.keep:
            print(f"\nclones kept under {root}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
