"""`gangrid repro -j N`: what it hands to the parallel `dvc repro` workers (a fake runner records it; the
real run through DVC is tests/test_pipeline.py)."""

from __future__ import annotations

import threading
import time

import pytest

from gangrid.repro import Queue, data_targets, repro, run_cost, run_parallel, run_targets


class Recorder:
    """A runner that records (targets, tag) calls, optionally failing on a target or sleeping a little."""

    def __init__(self, fail_on: str | None = None, delay: float = 0.0) -> None:
        self.calls: list[tuple[list[str], str]] = []
        self.single: list[bool] = []
        self.fail_on, self.delay = fail_on, delay
        self.lock = threading.Lock()
        self.running = self.peak = 0

    def __call__(self, targets: list[str], tag: str, single_item: bool = False) -> int:
        with self.lock:
            self.calls.append((list(targets), tag))
            self.single.append(single_item)
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(self.delay)
        with self.lock:
            self.running -= 1
        return 3 if self.fail_on is not None and self.fail_on in targets else 0


def test_the_queue_hands_out_shrinking_chunks_until_empty():
    q = Queue([[f"train{i}", f"eval{i}"] for i in range(20)], workers=2)
    sizes, handed = [], []
    while chunk := q.take():
        sizes.append(len(chunk) // 2)
        handed += chunk
    assert sum(sizes) == 20 and sizes[0] == 5 and sizes == sorted(sizes, reverse=True) and sizes[-1] == 1
    assert handed == [t for i in range(20) for t in (f"train{i}", f"eval{i}")]  # each run's stages, in order


def test_a_failure_stops_the_hand_out():
    q = Queue([["a"], ["b"], ["c"]], workers=1)
    q.take()
    q.fail(2)
    assert q.take() == [] and q.failed == 2


def test_every_run_is_handed_out_once_most_expensive_first(params):
    targets = run_targets(params)
    costs = [c for c, _ in targets]
    assert costs == sorted(costs, reverse=True)
    runs = [t for _, t in targets]
    assert all([x.split(":")[1].split("@")[0] for x in run] == ["train", "sample", "evaluate"] for run in runs)
    names = [x for run in runs for x in run]
    assert len(names) == len(set(names)) and all(t.startswith("pipelines/") for t in names)
    rec = Recorder(delay=0.01)
    assert run_parallel(Queue(runs, workers=2), 2, rec) == 0
    handed = [t for targets_, _ in rec.calls for t in targets_]
    assert sorted(handed) == sorted(names) and rec.peak == 2
    assert all(rec.single)  # every stage is named: no worker walks (and locks) another's upstream stages


def test_run_cost_orders_by_steps_critic_updates_and_sample_size(params):
    from gangrid.config import find_run, resolve_run

    ns = next(s for s in params["studies"] if "ns" in params["studies"][s]["losses"] and "grid25" in params["studies"][s]["datasets"])
    base = resolve_run(params, find_run(params, ns, f"grid25-mlp2d-ns-none-s{params['studies'][ns]['seeds'][0]}"))
    doubled = {**base, "train": {**base["train"], "steps": 2 * base["train"]["steps"]}}
    critic = {**base, "train": {**base["train"], "n_critic": 5}}
    assert run_cost(doubled) == 2 * run_cost(base) and run_cost(critic) == 3 * run_cost(base)
    image = {**base, "dataset": {"resolution": 16, "channels": 1}}
    assert run_cost(image) > run_cost(base)


def test_data_stages_first_then_runs_then_a_plain_repro(params):
    rec = Recorder()
    assert repro(params, 2, rec) == 0
    assert rec.calls[0][0] == ["dvc.yaml:params_index", "dvc.yaml:fetch_inception"]  # what every run reads first
    first_runs = next(i for i, (t, _) in enumerate(rec.calls) if any(":evaluate@" in x for x in t))
    data = [x for t, _ in rec.calls[1:first_runs] for x in t]
    assert data and all(x.startswith("dvc.yaml:") for x in data)
    assert {x.split("@")[1] for x in data} == set(d for s in params["studies"].values() for d in s["datasets"])
    assert rec.calls[-1] == ([], "all")  # everything else (and a check that nothing was missed)
    assert rec.single == [False] + [True] * (len(rec.calls) - 2) + [False]  # phases 1 and 2 name every stage


def test_one_job_is_a_plain_dvc_repro(params):
    rec = Recorder()
    assert repro(params, 1, rec) == 0 and rec.calls == [([], "all")]


def test_a_failing_stage_stops_the_run_with_its_status(params):
    victim = run_targets(params)[0][1][-1]
    rec = Recorder(fail_on=victim)
    assert repro(params, 2, rec) == 3
    assert rec.calls[-1][1] != "all"  # no final repro after a failure


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_dataset_groups_cover_each_dataset_once(params, workers):
    groups = data_targets(params, workers)
    owners = {}
    for i, g in enumerate(groups):
        for x in g:
            owners.setdefault(x.split("@")[1], set()).add(i)
    assert len(groups) <= workers and all(len(o) == 1 for o in owners.values())
    for g in groups:  # one dataset's stages stay in one group, in stage order
        per = {}
        for x in g:
            per.setdefault(x.split("@")[1], []).append(x.split(":")[1].split("@")[0])
        assert all(v == ["download", "preprocess", "train_classifier", "evaluate_real"] for v in per.values())
