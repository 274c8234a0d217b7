"""A stand-in for clean-fid's Inception weight file: the same TorchScript interface, a cheap network.

The published `inception-2015-12-05.pt` has `.layers` ((B, 3, 299, 299) in [-1, 1] -> (B, 2048, 1, 1) pool3
features), `.output` (the 2048 -> 1008 logits layer) and `forward(img, return_features, ..., no_output_bias)`
(TF-style resize to 299 inside, then the features or the softmax of the logits). Tests never download it.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS_FILE = "inception-2015-12-05.pt"


class StandInLayers(nn.Module):
    """(B, 3, 299, 299) -> (B, 2048, 1, 1), like the real network's `layers`."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3 * 16, 2048)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.adaptive_avg_pool2d(x, 4).flatten(1)
        return torch.relu(self.fc(h))[:, :, None, None]


class StandInInception(nn.Module):
    """Same interface as clean-fid's `inception-2015-12-05.pt`: `.layers`, `.output`, and
    forward(x, return_features, no_output_bias)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layers = StandInLayers()
        self.output = nn.Linear(2048, 1008)
        with torch.no_grad():
            self.output.weight.mul_(20.0)  # confident predictions: an IS well above 1
            self.output.bias.uniform_(-5.0, 5.0)  # a bias large enough that leaving it out matters

    def forward(self, x: torch.Tensor, return_features: bool = False, no_output_bias: bool = False) -> torch.Tensor:
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        features = self.layers((x - 128) / 128).reshape(-1, 2048)
        if return_features:
            return features
        if no_output_bias:
            logits = F.linear(features, self.output.weight)
        else:
            logits = self.output(features)
        return torch.softmax(logits, 1)


def write_stand_in(directory: Path) -> Path:
    """Save the stand-in as `<directory>/inception-2015-12-05.pt`; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / WEIGHTS_FILE
    torch.jit.script(StandInInception()).save(str(path))
    return path
