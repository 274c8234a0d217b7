"""Architecture families on 16 px digits, CPU: cost per training iteration, and whether the
conditional models draw the class they are asked for.

For each preset: milliseconds of CPU per GanTrainer iteration (one thread, the preset's batch
size, steady state). With --agreement: the conditional presets are trained for --steps
iterations and the pipeline's domain classifier labels 500 samples requested class by class
(the sample stage's protocol); the semi-supervised preset reports its discriminator's
10-way test accuracy with 100 labels. Data and classifier are built in a temp dir by the
pipeline's own stage functions.

    python bench/archs.py                       # timing of every 16 px preset
    python bench/archs.py --agreement --steps 600
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from gangrid.classifier import train_conv_classifier
from gangrid.config import RunSpec, load_params, resolve_run
from gangrid.data.store import load_split, to_model
from gangrid.nets import DataSpec
from gangrid.stages.data import run_download, run_preprocess
from gangrid.kinds.gan.sampling import generate
from gangrid.kinds.gan.trainer import GanTrainer
from gangrid.runtime import seed_everything

REPO = Path(__file__).resolve().parents[1]
DATA = DataSpec("image", (1, 16, 16), 10)
CONDITIONAL = ["cgan16", "acgan16", "proj16", "biggan16"]


def cpu_seconds() -> float:
    """User + system CPU time of this process."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def trainer_for(params: dict, arch: str, train) -> tuple[GanTrainer, dict]:
    """A seeded GanTrainer of `arch` x ns on the digits train split."""
    study = {"datasets": ["digits"], "archs": [arch], "losses": ["ns"], "tricks": ["none"], "seeds": [0], "baseline": {}, "train": {}}
    cfg = resolve_run({**params, "studies": {"bench": study}}, RunSpec("bench", "digits", arch, "ns", "none", 0))
    seed_everything(0)
    trainer = GanTrainer(cfg, DATA)
    trainer.attach_data(torch.from_numpy(train.x), torch.from_numpy(train.y), seed=0)
    return trainer, cfg


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agreement", action="store_true", help="train the conditional presets and measure class agreement")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--iters", type=int, default=20, help="timed iterations per preset")
    args = ap.parse_args()
    torch.set_num_threads(1)
    params = load_params(REPO / "params.yaml")
    presets = [a for a, p in params["archs"].items() if a.endswith(("16", "16_up", "16_ps", "16_sa", "16_in", "16_ln", "16_gn", "16_nonorm"))
               and p["family"] not in ("pix2pix", "cyclegan")]
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        run_download(params, "digits")
        run_preprocess(params, "digits")
        train, val, test = (load_split("digits", s, mmap=False) for s in ("train", "val", "test"))
        print(f"{'preset':16s} {'ms/iter':>8s}  batch")
        for arch in presets:
            trainer, cfg = trainer_for(params, arch, train)
            trainer.iteration()
            start = cpu_seconds()
            for _ in range(args.iters):
                trainer.iteration()
            print(f"{arch:16s} {(cpu_seconds() - start) / args.iters * 1000:8.1f}  {cfg['train']['batch_size']}", flush=True)
        if not args.agreement:
            return 0
        clf, _ = train_conv_classifier(train, val, 10, {"epochs": 8, "batch_size": 64, "lr": 1e-3}, seed=0)
        print(f"\n{'preset':16s} steps  agreement (chance 0.10)")
        for arch in CONDITIONAL:
            trainer, cfg = trainer_for(params, arch, train)
            for _ in range(args.steps):
                trainer.iteration()
            x, y = generate(trainer.sampling_generator(), DATA, cfg["train"]["z_dim"], 500, seed=1234, device=torch.device("cpu"))
            with torch.no_grad():
                agree = float((clf(to_model(x)).argmax(1).numpy() == y).mean())
            print(f"{arch:16s} {args.steps:5d}  {agree:.3f}", flush=True)
        from gangrid.nets.semisup import classifier_accuracy

        trainer, _ = trainer_for(params, "semisup16", train)
        for _ in range(args.steps):
            trainer.iteration()
        acc = classifier_accuracy(trainer.d, to_model(test.x), torch.as_tensor(np.array(test.y)))
        print(f"{'semisup16':16s} {args.steps:5d}  D test accuracy {acc:.3f} (100 labels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
