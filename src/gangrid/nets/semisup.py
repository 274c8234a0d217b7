"""Semi-supervised GAN (Salimans et al. 2016; Odena 2016): D is a K+1-way classifier.

D has K+1 outputs l_1..l_K (the real classes) and l_{K+1} (fake). Its real/fake logit is
log sum_k exp(l_k) - l_{K+1}, the log-odds of "one of the real classes" against "fake"
under the K+1-way softmax, so every adversarial loss of gangrid applies unchanged (with the
`ns` loss it is exactly the unsupervised loss of Salimans et al.). The supervised term on the
few labelled examples is the `semi_supervised` trick, implied by the presets. G is an
unconditional DCGAN-style generator (labels, if the dataset has them, are ignored).

`classifier_accuracy(d, x, y)` is D's K-way accuracy (argmax over l_1..l_K): the metric of
the method; `split_accuracy(trainer)` evaluates a trained run on its dataset's test split.

Preset keys: g_ch / d_ch (64), g_norm / d_norm, upsample, attention, dropout (Salimans: 0.5), mbstd, mbdisc.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from gangrid.metrics import HIGHER, Measure
from gangrid.nets import DataSpec, DOut, register_family
from gangrid.nets.blocks import check_conv_resolution, check_image, conv_encoder, conv_generator


class UnconditionalGenerator(nn.Module):
    """G(z) of a conv stack; y is accepted and ignored."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z)


class KPlusOneDiscriminator(nn.Module):
    """Conv encoder -> Linear -> K+1 logits; forward returns the real/fake log-odds."""

    def __init__(self, cfg: dict[str, Any], data: DataSpec) -> None:
        super().__init__()
        self.n_classes = data.n_classes
        self.encoder = conv_encoder(cfg, data)
        self.head = nn.Linear(self.encoder.out_dim, data.n_classes + 1)
        nn.init.normal_(self.head.weight, 0.0, 0.02)
        nn.init.zeros_(self.head.bias)

    def all_logits(self, features: torch.Tensor) -> torch.Tensor:
        """The K+1 logits (the last one is the fake class)."""
        return self.head(features)

    def class_logits(self, features: torch.Tensor) -> torch.Tensor:
        """The K real-class logits (the classifier of the semi-supervised GAN)."""
        return self.head(features)[:, : self.n_classes]

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        h = self.encoder(x)
        logits = self.head(h)
        real_vs_fake = torch.logsumexp(logits[:, : self.n_classes], dim=1) - logits[:, self.n_classes]
        return DOut(real_vs_fake, h)


@torch.no_grad()
def classifier_accuracy(d: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> float:
    """Top-1 accuracy of D's K-way classifier (argmax of the real-class logits) on model-space x."""
    was_training = d.training
    d.eval()
    correct = 0
    for i in range(0, len(x), batch):
        feats = d(x[i : i + batch]).features
        correct += int((d.class_logits(feats).argmax(1) == y[i : i + batch].to(feats.device)).sum())
    d.train(was_training)
    return correct / max(len(x), 1)


def split_accuracy(trainer: Any, split: str = "test") -> float:
    """D's classification accuracy, for a trained semi-supervised run's trainer, on a split of its dataset."""
    from gangrid.data.store import load_split, to_model

    data = load_split(trainer.config["run"]["dataset"], split)
    x = to_model(data.x).to(trainer.device)
    y = torch.as_tensor(np.array(data.y), dtype=torch.long, device=trainer.device)
    return classifier_accuracy(trainer.d, x, y)


def check_semisup(cfg: dict[str, Any], data: DataSpec) -> None:
    """Labelled square images at a conv-stack resolution; no packing (labels cannot be packed)."""
    _, res = check_image(cfg, data, "semisup", conditional=True)
    check_conv_resolution(cfg, res, "semisup")


def semisup_run_metrics(trainer: Any) -> dict[str, float]:
    """`d_accuracy`: the trained D's K-way accuracy on the full test split (the method's own metric)."""
    return {"d_accuracy": split_accuracy(trainer, "test")}


@register_family("semisup", check=check_semisup, run_metrics=semisup_run_metrics,
                 run_measures=(Measure("d_accuracy", "D accuracy", HIGHER, "accuracy"),))
def build_semisup(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build an unconditional generator and a K+1-way discriminator."""
    g = UnconditionalGenerator(conv_generator(cfg, data, int(cfg["z_dim"])))
    return g, KPlusOneDiscriminator(cfg, data)
