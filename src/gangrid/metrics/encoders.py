"""Metrics of models with an encoder (AAE, BiGAN / ALI: study kind `encoder`), in the report's `encoders` table.

  recon_mse  mean squared error of G(E(x)) against x over the whole test split, on pixel values in
             [0, 1] (the reconstruction of the data through the code)
  probe_acc  test accuracy of a linear classifier (multinomial logistic regression, L-BFGS, C = 1, on
             standardised features) trained on the codes E(x) of the training split: the papers'
             representation-learning measure (BiGAN / ALI; the AAE's codes are scored the same way)
Both come from the trained nets (the family's `run_metrics`), computed by the evaluate stage.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gangrid.data.store import load_split, to_model
from gangrid.metrics import HIGHER, LOWER, Measure, declare_measures, register_table

register_table("encoders", "Encoders: reconstruction and linear probe of the codes", 55)
ENCODER_MEASURES = declare_measures(
    Measure("recon_mse", "Reconstruction MSE", LOWER, "encoders"),
    Measure("probe_acc", "Linear-probe accuracy", HIGHER, "encoders"),
)
BATCH = 512


@torch.no_grad()
def encode(g: nn.Module, x: np.ndarray, device: torch.device) -> np.ndarray:
    """E(x) of uint8 images, as float64 (N, z_dim)."""
    out = [g.encode(to_model(x[i : i + BATCH]).to(device)).double().cpu().numpy() for i in range(0, len(x), BATCH)]
    return np.concatenate(out) if out else np.zeros((0, 1))


@torch.no_grad()
def reconstruction_mse(g: nn.Module, x: np.ndarray, device: torch.device) -> float:
    """Mean over images and pixels of (G(E(x)) - x)^2 on the [0, 1] scale (the reconstruction clamped to it)."""
    total, count = 0.0, 0
    for i in range(0, len(x), BATCH):
        real = to_model(x[i : i + BATCH]).to(device)
        rec = g(g.encode(real)).float().clamp(-1, 1)
        total += float(((rec - real) / 2).pow(2).sum())
        count += real.numel()
    return total / max(count, 1)


def linear_probe_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> float:
    """Test accuracy of multinomial logistic regression (L-BFGS, C = 1) fitted on standardised training features."""
    from sklearn.linear_model import LogisticRegression

    mean, std = train_x.mean(0), train_x.std(0) + 1e-8
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit((train_x - mean) / std, train_y)
    return float(model.score((test_x - mean) / std, test_y))


def run_encoder_metrics(g: nn.Module, dataset: str, device: torch.device) -> dict[str, float]:
    """recon_mse on the test split and, for a labelled dataset, probe_acc of the codes (train -> test)."""
    g = g.eval()
    test = load_split(dataset, "test")
    out = {"recon_mse": reconstruction_mse(g, np.asarray(test.x), device)}
    if test.y is not None:
        train = load_split(dataset, "train")
        out["probe_acc"] = linear_probe_accuracy(encode(g, np.asarray(train.x), device), np.asarray(train.y),
                                                 encode(g, np.asarray(test.x), device), np.asarray(test.y))
    return out
