"""The extension points hold: a study kind and a metric added at run time, from a module outside the
package, go through train / sample / evaluate / aggregate with no edit to any stage, pipeline
generator or report module; the metric lands in its table with its arrow and its best value bold."""

from __future__ import annotations

import copy
import sys
import textwrap
from pathlib import Path

import pytest

from gangrid.config import RunSpec, load_params
from gangrid.io import read_json

REPO = Path(__file__).resolve().parents[1]

TOY_MODULE = '''
"""A toy study kind `moments`: an affine generator fitted to 2-D points by matching mean and std."""

import numpy as np
import torch
from torch import nn

from gangrid.data.store import load_split
from gangrid.io import save_npz
from gangrid.kinds import StudyKind
from gangrid.metrics import LOWER, EvalContext, Measure, compute_metrics, register_metric, rounded
from gangrid.nets import DataSpec, register_family
from gangrid.plotting import save_points_plot
from gangrid.runtime import seed_everything, seeded_torch
from gangrid.training.base import BatchSampler, Trainer, optimizer_step, zero_grad


@register_metric("toy_spread", kinds=("points",), measures=(Measure("toy_spread", "Toy spread", LOWER, "quality"),),
                 protocol=lambda ev, ctx: {"toy_axes": 2}, describe=lambda ev: "Toy spread: |std(fake) - std(real)|.")
def toy_spread(ctx):
    return {"toy_spread": float(np.abs(ctx.fake.std(0) - ctx.real.std(0)).sum())}


@register_family("toy_affine", study_kind="moments")
def build_affine(cfg, data):
    return nn.Linear(2, 2), nn.Linear(2, 1)


class MomentTrainer(Trainer):
    def build_nets(self):
        from gangrid.nets import build_nets

        return build_nets(self.config["arch"], self.data)

    def attach(self, x, seed):
        self.samplers = {"x": BatchSampler(x, None, self.batch_size, seed)}

    def iteration(self):
        real, _ = self.samplers["x"].next()
        fake = self.g(torch.randn(len(real), 2))
        loss = (fake.mean(0) - real.mean(0)).pow(2).sum() + (fake.std(0) - real.std(0)).pow(2).sum()
        zero_grad(self.opt_g)
        loss.backward()
        optimizer_step(self.opt_g)
        self.step += 1
        return {"loss_g": loss.detach()}


class MomentKind(StudyKind):
    def data_spec(self, dataset):
        return DataSpec("points", (2,))

    def build_trainer(self, config, device, optimizers=True):
        return MomentTrainer(config, self.data_spec(config["run"]["dataset"]), device, optimizers)

    def fresh_trainer(self, config, device):
        x = torch.from_numpy(load_split(config["run"]["dataset"], "train", mmap=False).x)

        def fresh():
            seed_everything(config["run"]["seed"])
            trainer = self.build_trainer(config, device)
            trainer.attach(x, config["run"]["seed"])
            return trainer

        return fresh

    def sample(self, params, spec, trainer):
        with seeded_torch(int(params["eval"]["sample_seed"]), trainer.device), torch.no_grad():
            x = trainer.sampling_generator()(torch.randn(int(params["eval"]["n_samples"]), 2)).numpy()
        save_npz(spec.files.samples, x=x, status=np.array("finished"))
        save_points_plot(spec.files.grid, x, np.zeros((0, 2)), title=spec.name)

    def evaluate(self, params, spec):
        with np.load(spec.files.samples) as f:
            fake = f["x"]
        ev = params["eval"]
        ctx = EvalContext(kind="points", fake=fake, real=load_split(spec.dataset, "test").x, cfg=ev)
        return {"status": "finished", **rounded(compute_metrics(ctx, ev["metrics"])), "protocol": {"n": len(fake)}}
'''


@pytest.fixture()
def toy_extension(tmp_path, monkeypatch):
    """The toy module importable from a temp folder, its kind registered; every registration undone afterwards."""
    from gangrid import kinds, metrics, nets
    from gangrid.registry import import_submodules

    for package in ("gangrid.kinds", "gangrid.metrics", "gangrid.nets"):
        import_submodules(package)
    (tmp_path / "toy_ext").mkdir()
    (tmp_path / "toy_ext" / "toy_kind_module.py").write_text(textwrap.dedent(TOY_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path / "toy_ext"))
    kinds.register_kind(kinds.KindInfo("moments", ("points",), "toy_kind_module:MomentKind", owns_data=False))
    import toy_kind_module  # noqa: F401  (registers the metric and the family)

    yield
    kinds.KINDS._items.pop("moments", None)
    kinds._LOADED.pop("moments", None)
    metrics.METRICS._items.pop("toy_spread", None)
    metrics.MEASURES.pop("toy_spread", None)
    nets.ARCHS._items.pop("toy_affine", None)
    sys.modules.pop("toy_kind_module", None)


def test_a_toy_kind_and_metric_run_through_every_stage(toy_extension, tmp_path, monkeypatch):
    from gangrid.report.aggregate import run_aggregate
    from gangrid.stages.data import run_download, run_preprocess
    from gangrid.stages.evaluate import evaluate_run
    from gangrid.stages.sample import sample_run
    from gangrid.stages.train import train_run
    from gangrid.validate import validate

    monkeypatch.chdir(tmp_path)
    params = copy.deepcopy(load_params(REPO / "params.yaml"))
    params["datasets"] = {"ring8": {**params["datasets"]["ring8"], "n_points": 1000}}
    params["archs"].update({"affine_fast": {"family": "toy_affine", "train": {"lr": 5e-2}},
                            "affine_slow": {"family": "toy_affine", "train": {"lr": 1e-4}}})
    params["eval"].update({"n_samples": 500, "metrics": ["toy_spread"]})
    params["studies"] = {"toy": {"kind": "moments", "datasets": ["ring8"], "archs": ["affine_slow", "affine_fast"],
                                 "losses": ["ns"], "tricks": ["none"], "seeds": [0, 1],
                                 "baseline": {"arch": "affine_slow", "loss": "ns", "trick": "none"},
                                 "train": {"steps": 60, "batch_size": 100, "log_every": 20, "checkpoint_every": 60}}}
    validate(params)
    run_download(params, "ring8")
    run_preprocess(params, "ring8")
    for arch in ("affine_slow", "affine_fast"):
        for seed in (0, 1):
            spec = RunSpec("toy", "ring8", arch, "ns", "none", seed)
            assert train_run(params, spec, progress=False)["status"] == "finished"
            sample_run(params, spec)
            assert "toy_spread" in evaluate_run(params, spec)
    frames = run_aggregate(params, tmp_path / "tables", tmp_path)
    fast = frames["runs"].loc[frames["runs"]["arch"] == "affine_fast", "toy_spread"]
    slow = frames["runs"].loc[frames["runs"]["arch"] == "affine_slow", "toy_spread"]
    assert fast.max() < slow.min()  # matching the moments works, and fast lr does it within 60 steps
    index = read_json(tmp_path / "tables" / "index.json")["tables"]
    table = next(t for t in index if t["study"] == "toy")
    assert table["family"] == "quality" and table["metrics"] == ["toy_spread"]
    md = (tmp_path / "tables" / f"{table['stem']}.md").read_text()
    assert "toy_spread ↓" in md  # the arrow of its declared direction
    fast_row = next(line for line in md.splitlines() if "affine_fast" in line)
    slow_row = next(line for line in md.splitlines() if "affine_slow" in line)
    assert "**" in fast_row and "**" not in slow_row  # the lower spread is bold: its direction came from the metric
