"""SRGAN's content loss: the mean squared error between feature maps of the SR output and of the HR image.

Feature extractors (arch preset key `content`):
  classifier  the deepest conv feature map of the pipeline's own domain classifier of the dataset
              (models/classifier/<dataset>.pt, trained on the HR images): offline, always available
  vgg19       VGG-19's conv5_4 feature map before its ReLU ("VGG54", the paper's choice), scaled by
              1 / 12.75 as in the paper, from a torchvision state-dict file (`vgg_weights`; never
              downloaded: a missing file is an error naming the key); grey images are repeated to RGB and
              normalised with ImageNet statistics
  pixel       the images themselves (SRResNet-MSE)
Extractors are frozen and in eval mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from gangrid.errors import ConfigError
from gangrid.metrics.extractors import load_classifier

VGG54_END = 35  # torchvision vgg19().features[:35] ends with conv5_4 (index 34), before its ReLU
VGG_SCALE = 1.0 / 12.75
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Features = Callable[[torch.Tensor], torch.Tensor]


def frozen(module: nn.Module, device: torch.device) -> nn.Module:
    """`module` on `device`, in eval mode, without gradients for its parameters."""
    return module.to(device).eval().requires_grad_(False)


def classifier_features(dataset: str, device: torch.device) -> Features:
    """The deepest conv feature map of the dataset's domain classifier (images in [-1, 1])."""
    model = load_classifier(dataset)
    if model is None:
        raise ConfigError(f"content loss 'classifier': dataset '{dataset}' has no classifier (no labels); use content: pixel or vgg19")
    trunk = frozen(model.body[:-1], device)  # every conv stage, without the flatten
    return lambda x: trunk(x)


def vgg19_features(weights: str | None, key: str, device: torch.device) -> Features:
    """VGG-19's conv5_4 map (pre-activation, x 1/12.75) from a local state-dict file."""
    import torchvision

    if not weights or not Path(weights).is_file():
        raise ConfigError(f"{key}.vgg_weights: VGG-19 weights file {weights!r} not found (it is never downloaded); "
                          f"put torchvision's vgg19 state dict there, or use content: classifier")
    vgg = torchvision.models.vgg19(weights=None)
    vgg.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    trunk = frozen(vgg.features[:VGG54_END], device)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)

    def features(x: torch.Tensor) -> torch.Tensor:
        rgb = (x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x) * 0.5 + 0.5
        return trunk((rgb - mean) / std) * VGG_SCALE

    return features


def content_features(arch: dict[str, str], dataset: str, device: torch.device) -> Features:
    """The feature extractor of an arch preset's `content` loss."""
    kind = arch.get("content", "classifier")
    if kind == "pixel":
        return lambda x: x
    if kind == "vgg19":
        return vgg19_features(arch.get("vgg_weights"), f"archs.{arch['name']}", device)
    return classifier_features(dataset, device)


def content_loss(features: Features, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """MSE between the features of the SR output and those of the HR image (HR features without grad)."""
    with torch.no_grad():
        target = features(hr)
    return F.mse_loss(features(sr).float(), target.float())
