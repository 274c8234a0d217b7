"""`gangrid repro -j N`: `dvc repro` of the whole pipeline with N stage commands running at a time.

`dvc repro` runs one stage at a time, so on a machine with N cores all but one idle while a
1-thread run trains. DVC itself supports running several `dvc repro` processes on disjoint
parts of one pipeline: each releases the repository lock while its stage command runs and
takes it back (`--wait-for-lock`) to record the result, and every study has its own dvc.lock.
This driver uses that, in four phases:

0. the root stages every run needs first (the params index; the Inception weights' manifest), in one worker;
1. the dataset stages (download, preprocess, classifier, real-data row), the datasets split
   among the workers;
2. the runs of every study: each worker repeatedly takes the next chunk of runs (the most
   expensive first, chunks shrinking as the queue empties, so the workers finish together)
   and reproduces their stages in order with `dvc --wait-for-lock repro --single-item
   <study>/dvc.yaml:train@<run> ...:sample@<run> ...:evaluate@<run> ...`;
3. a plain `dvc repro` for everything left (aggregate, plots, report), which also checks that
   nothing was missed.

Phases 1 and 2 name every stage they reproduce and pass `--single-item`: without it each worker's
`dvc repro` also walks the upstream stages (the dataset stages a run reads), and DVC takes a stage's
write lock on its outputs even to find it unchanged, which collides with another worker's read lock
on the same outputs while that worker trains ("'data/processed/digits' is busy").

Results are those of a plain `dvc repro`: the same commands, the same thread counts (params'
`train.threads` / `eval.threads`), the same lock files; only the order of the stages differs.
A failing stage stops the hand-out of new work; the driver waits for the running workers and
exits with the failure's status.
"""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from gangrid.config import datasets_used, iter_runs, resolve_run
from gangrid.pipelines import INDEX_STAGE, ROOT_FILE, run_stage
from gangrid.stagetable import DATA_STAGES, GRID_STAGES, RUN_STAGES

Runner = Callable[..., int]  # runner(targets, tag, single_item=False) -> exit status


def run_cost(config: dict[str, Any]) -> float:
    """A rough relative cost of training a run (only the order of the hand-out depends on it): steps x discriminator
    updates per step x the size of one sample (a 16 x 16 image = 1; a 2-D point, whose MLPs are cheap, 0.3)."""
    train = config["train"]
    d_updates = int(train.get("n_critic", 1)) + int((config["tricks"].get("unrolled") or {}).get("k", 0))
    shape = config["dataset"].get("resolution")
    size = (int(shape) / 16) ** 2 * int(config["dataset"].get("channels", 1)) if shape else 0.3
    return float(train["steps"]) * (1 + d_updates) * size


def run_targets(params: dict[str, Any]) -> list[tuple[float, list[str]]]:
    """(cost, the DVC targets of its run stages in order) of every run, most expensive first."""
    out = [(run_cost(resolve_run(params, spec)), [run_stage(spec, s.name) for s in RUN_STAGES]) for spec in iter_runs(params)]
    return sorted(out, key=lambda item: -item[0])


def pre_run_targets() -> list[str]:
    """The root stages whose outputs the dataset and run stages read: the params index, and the grid stages whose
    outputs are their dependencies (the Inception weights' manifest)."""
    needed = {d for s in (*DATA_STAGES, *RUN_STAGES) for d in s.deps}
    grid = [s.name for s in GRID_STAGES if any(o.path in needed for o in s.outs)]
    return [f"{ROOT_FILE.as_posix()}:{name}" for name in (INDEX_STAGE, *grid)]


def data_targets(params: dict[str, Any], workers: int) -> list[list[str]]:
    """The dataset stages of the datasets in use, split among `workers` (one dataset's stages stay together)."""
    groups: list[list[str]] = [[] for _ in range(max(1, workers))]
    for i, dataset in enumerate(datasets_used(params)):
        groups[i % len(groups)] += [f"{ROOT_FILE.as_posix()}:{s.name}@{dataset}" for s in DATA_STAGES]
    return [g for g in groups if g]


@dataclass
class Queue:
    """The runs still to hand out (each its list of stage targets), most expensive first; `take` hands out
    chunks of runs that shrink as it empties (guided self-scheduling: a 1/(2N) share of what is left), so few
    `dvc` processes start and the workers finish at about the same time."""

    targets: list[list[str]]
    workers: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    failed: int = 0

    def take(self) -> list[str]:
        """The stage targets of the next chunk of runs ([] when everything is handed out or a stage failed)."""
        with self.lock:
            if self.failed or not self.targets:
                return []
            n = max(1, math.ceil(len(self.targets) / (2 * self.workers)))
            chunk, self.targets = self.targets[:n], self.targets[n:]
            return [t for run in chunk for t in run]

    def fail(self, code: int) -> None:
        """Record a failed stage: nothing more is handed out."""
        with self.lock:
            self.failed = self.failed or code


def dvc_runner(dvc: str = "dvc", quiet: bool = False) -> Runner:
    """Runs `dvc --wait-for-lock repro [--single-item] <targets>`, its output prefixed with the worker's tag;
    returns its status."""
    lock = threading.Lock()

    def run(targets: list[str], tag: str, single_item: bool = False) -> int:
        cmd = [dvc, "--wait-for-lock", "repro", *(["--single-item"] if single_item else []), *targets]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            if not quiet:
                with lock:
                    sys.stdout.write(f"[{tag}] {line}")
                    sys.stdout.flush()
        return proc.wait()

    return run


def run_parallel(groups: Sequence[list[str]] | Queue, workers: int, runner: Runner) -> int:
    """Run `runner` (single-item: every stage is named) over static `groups` (one per worker) or chunks taken
    from a `Queue`; the first non-zero status."""
    queue = groups if isinstance(groups, Queue) else None
    static = list(groups) if queue is None else []
    status: list[int] = []

    def work(index: int) -> None:
        tag = str(index + 1)
        while True:
            if queue is None:
                chunk = static[index] if index < len(static) and not status else []
            else:
                chunk = queue.take()
            if not chunk:
                return
            code = runner(chunk, tag, single_item=True)
            if code:
                status.append(code)
                if queue is not None:
                    queue.fail(code)
                return
            if queue is None:
                return

    count = workers if queue is not None else min(workers, len(static))
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return status[0] if status else 0


def repro(params: dict[str, Any], workers: int, runner: Runner | None = None) -> int:
    """Reproduce the whole pipeline with `workers` stage commands at a time (see the module docstring)."""
    runner = runner or dvc_runner()
    if workers > 1:
        code = runner(pre_run_targets(), "1")
        if code:
            return code
        code = run_parallel(data_targets(params, workers), workers, runner)
        if code:
            return code
        code = run_parallel(Queue([t for _, t in run_targets(params)], workers), workers, runner)
        if code:
            return code
    return runner([], "all")
