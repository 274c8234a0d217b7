"""Domain-classifier check at full size: the real download / preprocess / train-classifier stages on a
dataset of presets/datasets.yaml (default Fashion-MNIST from the Debian package), in a temp folder,
with the repository's eval.classifier settings. Prints sizes, epochs, time, val/test accuracy and
whether the test accuracy reaches eval.classifier.floor.<dataset>.

    python bench/classifier.py                          # fashion_mnist, settings from params.yaml
    python bench/classifier.py --dataset mnist --epochs 2 --threads 4
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion_mnist", help="a dataset of presets/datasets.yaml or params.yaml")
    parser.add_argument("--epochs", type=int, help="override eval.classifier epochs for this dataset")
    parser.add_argument("--resolution", type=int, help="override the dataset's resolution")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    from gangrid.config import load_params
    from gangrid.errors import UserError
    from gangrid.classifier import classifier_cfg, classifier_floor
    from gangrid.stages.data import run_download, run_preprocess, run_train_classifier

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    params = load_params(REPO / "params.yaml")
    presets = yaml.safe_load((REPO / "presets" / "datasets.yaml").read_text()) if (REPO / "presets" / "datasets.yaml").exists() else {}
    presets = presets.get("datasets", presets)
    if args.dataset not in params["datasets"]:
        if args.dataset not in presets:
            print(f"unknown dataset {args.dataset}")
            return 0
        params["datasets"][args.dataset] = copy.deepcopy(presets[args.dataset])
    if args.resolution:
        params["datasets"][args.dataset]["resolution"] = args.resolution
    if args.epochs:
        params["eval"]["classifier"].setdefault("datasets", {}).setdefault(args.dataset, {})["epochs"] = args.epochs
    cfg = classifier_cfg(params, args.dataset)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        t0 = time.perf_counter()
        run_download(params, args.dataset)
        run_preprocess(params, args.dataset)
        t1 = time.perf_counter()
        try:
            metrics = run_train_classifier(params, args.dataset)
            verdict = "reaches the floor"
        except UserError as exc:
            metrics, verdict = {}, f"FAILS: {exc}"
        t2 = time.perf_counter()
    res = params["datasets"][args.dataset].get("resolution", "native")
    print(f"dataset {args.dataset} ({res} px): data {t1 - t0:.0f} s, classifier {t2 - t1:.0f} s on {args.threads} threads; "
          f"epochs {cfg.get('epochs')}, batch {cfg.get('batch_size')}, width {cfg.get('width')}")
    if metrics:
        print(f"train {int(metrics['n_train'])}, test {int(metrics['n_test'])}; best epoch {int(metrics['best_epoch'])}; "
              f"val accuracy {metrics['val_accuracy']:.4f}, test accuracy {metrics['test_accuracy']:.4f}, "
              f"floor {classifier_floor(params, args.dataset)}: {verdict}")
    else:
        print(verdict)
    return 0


if __name__ == "__main__":
    sys.exit(main())
