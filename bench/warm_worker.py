"""Per-invocation wall time of a `gangrid` command with and without the warm worker (gangrid.worker).

    python bench/warm_worker.py [-n 20]                      # `gangrid validate` on a temp copy of params.yaml
    python bench/warm_worker.py --repo /tmp/mainjob sample modes2d grid25-mlp2d-ns-none-s0

The command runs `-n` times in process (a fresh interpreter importing torch & co.)
and `-n` times through a worker started for the benchmark, interleaved so that
both see the same machine load; it prints the mean and median of each and their
ratio. `--repo` is a directory holding the pipeline outputs the command needs
(a `dvc repro` tree); a stage command rewrites its outputs there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def gangrid_command() -> list[str]:
    """The `gangrid` console script beside this interpreter (as dvc.yaml runs it), else `python -m gangrid.cli`."""
    script = Path(sys.executable).parent / "gangrid"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gangrid.cli"]


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"{' '.join(command)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=20, help="invocations of each kind (default 20)")
    parser.add_argument("--repo", type=Path, help="run in this pipeline tree (default: a temp dir with params.yaml)")
    parser.add_argument("args", nargs="*", default=["validate"], help="the gangrid command (default: validate)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gangrid-bench-") as tmp:
        cwd = opts.repo or Path(tmp)
        if not opts.repo:
            shutil.copy(ROOT / "params.yaml", cwd / "params.yaml")
        sock = Path(tmp) / "w.sock"
        env = {k: v for k, v in os.environ.items() if k != "GANGRID_WORKER"}
        server = subprocess.Popen([sys.executable, "-m", "gangrid.cli", "worker", "--socket", str(sock), "--idle", "60"],
                                  env=env, stdin=subprocess.DEVNULL)
        try:
            while not sock.exists():
                time.sleep(0.01)
            command, warm_env = gangrid_command() + opts.args, {**env, "GANGRID_WORKER": str(sock)}
            print(f"warm-up: {timed(command, cwd, warm_env):.2f} s (the server imports torch & co. once)")
            cold, warm = [], []
            for _ in range(opts.n):
                cold.append(timed(command, cwd, env))
                warm.append(timed(command, cwd, warm_env))
        finally:
            server.terminate()
            server.wait()
    print(f"gangrid {' '.join(opts.args)}: {opts.n} invocations each, interleaved")
    for name, times in (("in process", cold), ("worker", warm)):
        print(f"  {name:>10}: mean {statistics.mean(times):.3f} s, median {statistics.median(times):.3f} s per call")
    print(f"  ratio (in process / worker, medians): {statistics.median(cold) / statistics.median(warm):.2f}x")


if __name__ == "__main__":
    main()
