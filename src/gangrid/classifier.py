"""The pipeline's domain classifier: the offline feature extractor for FID/KID/PR/DC and the
softmax for the classifier score (IS) and class histograms.

Images: a small CNN trained on the train split (penultimate `feature_dim` features),
model selection on the val split, accuracy reported on the test split.
2-D mixtures: the exact nearest-centre classifier of the known mixture (features = the points).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gangrid.artifacts import classifier_metrics_path, classifier_path
from gangrid.data.store import Split, to_model
from gangrid.errors import UserError
from gangrid.io import save_torch, write_json
from gangrid.runtime import pick_device


class ConvClassifier(nn.Module):
    """Per stage a 3x3 conv-BN-ReLU and a 2x max-pool (channels doubling from `width`) down to <= 4 px
    (at least 2 stages), then FC `feature_dim`-BN-ReLU (the penultimate features), dropout, FC classes."""

    def __init__(
        self, channels: int, resolution: int, n_classes: int, width: int = 32, feature_dim: int = 128, dropout: float = 0.3
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, c, res = channels, width, resolution
        while res > 4 or len(layers) < 2:
            layers.append(nn.Sequential(
                nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.MaxPool2d(2)
            ))
            c_in, c, res = c, c * 2, res // 2
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.fc = nn.Sequential(nn.Linear(c_in * res * res, feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU(inplace=True))
        self.drop = nn.Dropout(dropout)
        self.head_fc = nn.Linear(feature_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features (B, feature_dim)."""
        return self.fc(self.body(x))

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """Class logits from penultimate features."""
        return self.head_fc(self.drop(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by its own random offset in [-max_shift, max_shift]^2 (black padding)."""
    if max_shift <= 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)  # model-space black
    offsets = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen) * (2 * max_shift + 1)
    offsets += torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    out = torch.empty_like(x)
    for code in offsets.unique().tolist():
        sel = (offsets == code).nonzero().squeeze(1).to(x.device)
        dy, dx = divmod(code, 2 * max_shift + 1)
        out[sel] = padded[sel, :, dy : dy + h, dx : dx + w]
    return out


def train_conv_classifier(
    train: Split, val: Split, n_classes: int, cfg: dict[str, Any], seed: int = 0
) -> tuple[ConvClassifier, dict[str, float]]:
    """Train the CNN (Adam, cosine learning-rate decay, random shifts); keep the best val-accuracy epoch.

    Runs on `cfg["device"]` (default cpu, where results are bit-reproducible); the model is returned on the CPU.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    device = pick_device(str(cfg.get("device", "cpu")))
    x = to_model(train.x).to(device)
    y = torch.as_tensor(np.asarray(train.y), dtype=torch.long).to(device)
    xv, yv = to_model(val.x).to(device), torch.as_tensor(np.asarray(val.y), dtype=torch.long).to(device)
    model = ConvClassifier(**classifier_arch(x.shape[1], x.shape[2], n_classes, cfg)).to(device)
    epochs, batch = int(cfg.get("epochs", 20)), int(cfg.get("batch_size", 128))
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg.get("lr", 1e-3)), weight_decay=float(cfg.get("weight_decay", 1e-4)))
    steps = epochs * math.ceil(len(x) / batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    shift = int(cfg.get("shift", 2))
    best_acc, best_epoch, best_state = -1.0, 0, None
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(x), generator=gen).to(device)
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            loss = F.cross_entropy(model(random_shift(x[idx], shift, gen)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = accuracy(model, xv, yv) if len(xv) else 0.0
        if acc > best_acc:
            best_acc, best_epoch = acc, epoch
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    model = model.cpu()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, {"val_accuracy": best_acc, "best_epoch": float(best_epoch), "epochs": float(epochs)}


def classifier_arch(channels: int, resolution: int, n_classes: int, cfg: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments of the CNN (stored in its checkpoint to rebuild it)."""
    return {
        "channels": int(channels), "resolution": int(resolution), "n_classes": int(n_classes),
        "width": int(cfg.get("width", 32)), "feature_dim": int(cfg.get("feature_dim", 128)),
        "dropout": float(cfg.get("dropout", 0.3)),
    }


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> float:
    """Top-1 accuracy of `model` on model-space inputs."""
    model.eval()
    correct = sum(int((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum()) for i in range(0, len(x), batch))
    return correct / max(len(x), 1)


class NearestCentre(nn.Module):
    """The Bayes classifier of an isotropic equal-weight mixture: the nearest mode centre."""

    def __init__(self, centers: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("centers", centers.float())

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The points themselves."""
        return x.float()

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits: negative distance to each centre."""
        return -torch.cdist(features.float(), self.centers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def classifier_floor(params: dict[str, Any], name: str) -> float:
    """The minimum test accuracy required of a dataset's classifier (eval.classifier.floor.<name>, else .default)."""
    floors = params["eval"].get("classifier", {}).get("floor", {})
    return float(floors.get(name, floors.get("default", 0.0)))


def classifier_cfg(params: dict[str, Any], name: str) -> dict[str, Any]:
    """eval.classifier settings for dataset `name`: the defaults overlaid with eval.classifier.datasets.<name>."""
    cfg = dict(params["eval"].get("classifier", {}))
    overrides = cfg.pop("datasets", None) or {}
    cfg.update(overrides.get(name) or {})
    return cfg


def save_classifier(params: dict[str, Any], name: str, payload: dict[str, Any], metrics: dict[str, float]) -> dict[str, float]:
    """Check a trained classifier's test accuracy against its floor, then write models/classifier/<name>.{pt,json}."""
    metrics["floor"] = classifier_floor(params, name)
    if metrics["test_accuracy"] < metrics["floor"]:
        raise UserError(
            f"classifier for '{name}' reached test accuracy {metrics['test_accuracy']:.4f} < floor {metrics['floor']} "
            f"(eval.classifier.floor.{name}); train it longer (eval.classifier.epochs) or check the data"
        )
    save_torch(classifier_path(name), payload)
    write_json(classifier_metrics_path(name), {k: round(float(v), 6) for k, v in metrics.items()})
    return metrics


def fit_image_classifier(params: dict[str, Any], name: str, train: Any, val: Any, test: Any, n_classes: int,
                         **extra: Any) -> dict[str, float]:
    """Train the CNN on labelled image splits (uint8 NCHW `x`, `y`), score it on `test` and save it (with `extra`
    payload entries) under the floor check; its metrics."""
    cfg = classifier_cfg(params, name)
    model, metrics = train_conv_classifier(train, val, n_classes, cfg, seed=int(cfg.get("seed", 0)))
    c, h, _ = train.x.shape[1:]
    payload = {"kind": "conv", "arch": classifier_arch(c, h, n_classes, cfg), "state": model.state_dict(), **extra}
    metrics["test_accuracy"] = accuracy(model, to_model(test.x), torch.as_tensor(np.asarray(test.y)))
    metrics["n_train"], metrics["n_test"] = float(len(train.x)), float(len(test.x))
    return save_classifier(params, name, payload, metrics)


def save_no_classifier(params: dict[str, Any], name: str, n_train: int, n_test: int) -> dict[str, float]:
    """An unlabelled dataset has no classifier: record that (Inception features only), or refuse when the
    protocol asks for classifier features."""
    if str(params["eval"].get("extractor", "classifier")) != "inception":
        raise UserError(f"dataset '{name}' has no labels: the classifier extractor needs labels (use eval.extractor: inception)")
    save_torch(classifier_path(name), {"kind": "none"})
    sizes = {"labelled": 0.0, "n_train": float(n_train), "n_test": float(n_test)}
    write_json(classifier_metrics_path(name), sizes)
    return sizes

