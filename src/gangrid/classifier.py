"""The pipeline's domain classifier: the offline feature extractor for FID/KID/PR/DC and the
softmax for the classifier score (IS) and class histograms.

Images: a small CNN trained on the train split (penultimate 128-d features).
2-D mixtures: the exact nearest-centre classifier of the known mixture (features = the points).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gangrid.data.store import Split, to_model


class ConvClassifier(nn.Module):
    """conv32-conv64-(conv128 for >= 32 px) with max-pooling, FC `feature_dim` (penultimate), FC classes."""

    def __init__(self, channels: int, resolution: int, n_classes: int, width: int = 32, feature_dim: int = 128) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, res, c = channels, resolution, width
        while res > 4 and len(layers) < 12:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
            c_in, c, res = c, c * 2, res // 2
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.fc = nn.Sequential(nn.Linear(c_in * res * res, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features (B, feature_dim)."""
        return self.fc(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_conv_classifier(
    train: Split, val: Split, n_classes: int, cfg: dict[str, Any], seed: int = 0
) -> tuple[ConvClassifier, dict[str, float]]:
    """Train the CNN with Adam and light augmentation (random 1-px shifts); keep the best val epoch."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    x = to_model(train.x)
    y = torch.as_tensor(np.asarray(train.y), dtype=torch.long)
    xv, yv = to_model(val.x), torch.as_tensor(np.asarray(val.y), dtype=torch.long)
    model = ConvClassifier(x.shape[1], x.shape[2], n_classes, cfg.get("width", 32), cfg.get("feature_dim", 128))
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg.get("lr", 1e-3)), weight_decay=float(cfg.get("weight_decay", 1e-4)))
    epochs, batch = int(cfg.get("epochs", 20)), int(cfg.get("batch_size", 128))
    best_acc, best_state = -1.0, None
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            xb = x[idx]
            shift = torch.randint(-1, 2, (2,), generator=gen).tolist()
            xb = torch.roll(xb, shifts=shift, dims=(2, 3))
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        acc = accuracy(model, xv, yv) if len(xv) else 0.0
        if acc > best_acc:
            best_acc, best_state = acc, {k: v.clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, {"val_accuracy": best_acc}


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
        return x.float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -torch.cdist(x.float(), self.centers)  # logits: negative distance
