"""Inception-V3 pool3 features and class probabilities through clean-fid (Parmar et al. 2022).

clean-fid's TorchScript Inception (`inception-2015-12-05.pt`, the file stylegan2-ada
publishes) is looked up at `eval.inception.weights`, then in `eval.inception.cache`
(where the `fetch_inception` stage puts it, gangrid.metrics.inception_weights), then
in clean-fid's own cache (`/tmp` on Linux and macOS). Evaluation never downloads:
when the file is absent the Inception metrics are reported as unavailable
(`inception_unavailable`), in one line.

Images go through clean-fid's own preprocessing for the chosen mode:
`clean` (PIL bicubic resize to 299x299 in float, then the network) or
`legacy_tensorflow` (the network's built-in TF-style resize). Grey images are
repeated to RGB, as clean-fid's loader does.

Class probabilities (for the Inception Score) are the softmax of the network's
1008 logits computed from the same pool3 features without the output layer's bias,
as stylegan2-ada (`no_output_bias=True`) and torch-fidelity (`logits_unbiased`)
compute them, in float64.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gangrid.errors import ConfigError
from gangrid.metrics.extractors import Extractor

WEIGHTS_FILE = "inception-2015-12-05.pt"
DEFAULT_CACHE = "models/inception"
MODES = ("clean", "legacy_tensorflow")
FEATURE_DIM = 2048


def cleanfid_cache_dir() -> Path:
    """Where clean-fid itself keeps the Inception weights (`/tmp`; `./` on Windows)."""
    return Path("./" if platform.system() == "Windows" else "/tmp")


def configured_weights(cfg: dict[str, Any]) -> Path | None:
    """eval.inception.weights as a file path (a folder means the file in it), or None when unset."""
    configured = (cfg.get("inception") or {}).get("weights")
    if not configured:
        return None
    p = Path(str(configured)).expanduser()
    return p / WEIGHTS_FILE if p.is_dir() else p


def cache_path(cfg: dict[str, Any]) -> Path:
    """Where the fetch stage keeps the weight file: `<eval.inception.cache>/inception-2015-12-05.pt`."""
    return Path(str((cfg.get("inception") or {}).get("cache") or DEFAULT_CACHE)).expanduser() / WEIGHTS_FILE


def weight_candidates(cfg: dict[str, Any]) -> list[Path]:
    """Paths searched for the weights, in order: eval.inception.weights (a file or a folder), eval.inception.cache,
    clean-fid's cache."""
    configured = configured_weights(cfg)
    return ([configured] if configured else []) + [cache_path(cfg), cleanfid_cache_dir() / WEIGHTS_FILE]


def find_weights(cfg: dict[str, Any]) -> Path | None:
    """The first existing weight file among `weight_candidates`, or None."""
    return next((p for p in weight_candidates(cfg) if p.is_file()), None)


def inception_unavailable(cfg: dict[str, Any]) -> str:
    """The one-line reason Inception metrics are not computed (no weight file found)."""
    where = ", ".join(str(p) for p in weight_candidates(cfg))
    return (f"Inception metrics unavailable: no {WEIGHTS_FILE} at {where} (the fetch_inception stage puts it in "
            f"eval.inception.cache; or set eval.inception.weights)")


def inception_mode(cfg: dict[str, Any]) -> str:
    """eval.inception.mode, checked (clean or legacy_tensorflow)."""
    mode = str((cfg.get("inception") or {}).get("mode", "clean"))
    if mode not in MODES:
        raise ConfigError(f"eval.inception.mode: unknown mode '{mode}' (known: {', '.join(MODES)})")
    return mode


def load_inception(path: Path, mode: str, device: torch.device) -> torch.nn.Module:
    """clean-fid's `InceptionV3W` around the TorchScript file at `path` (loaded here: no download step)."""
    from cleanfid.inception_torchscript import InceptionV3W

    class LocalInceptionV3W(InceptionV3W):
        def __init__(self) -> None:
            torch.nn.Module.__init__(self)
            self.base = torch.jit.load(str(path), map_location=device).eval()
            self.layers = self.base.layers
            self.resize_inside = mode == "legacy_tensorflow"

    return LocalInceptionV3W().eval()


def preprocess_batch(images: np.ndarray, mode: str) -> torch.Tensor:
    """uint8 NCHW images -> the float [0, 255] NCHW batch clean-fid feeds the network in `mode`."""
    from cleanfid.resize import build_resizer

    x = np.asarray(images)
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    hwc = x.transpose(0, 2, 3, 1)
    if mode == "legacy_tensorflow":  # clean-fid: ToTensor() (x / 255) then * 255
        return torch.from_numpy(np.ascontiguousarray(x)).float().div(255).mul(255)
    resize = build_resizer(mode)
    out = np.stack([resize(np.ascontiguousarray(img)).transpose(2, 0, 1) for img in hwc])
    return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))


def output_weight(model: torch.nn.Module) -> torch.Tensor | None:
    """The (classes, 2048) weight of the network's output layer in float64, or None for a file without one."""
    output = getattr(model.base, "output", None)
    weight = getattr(output, "weight", None)
    return None if weight is None else weight.detach().double()


def class_probabilities(features: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """softmax(features @ W^T) in float64: the network's class probabilities without the output bias."""
    return torch.softmax(features.double() @ weight.to(features.device).T, dim=1)


def inception_extractor(path: Path, mode: str = "clean", device: str | torch.device = "cpu", batch: int = 50) -> Extractor:
    """An extractor giving 2048-d Inception pool3 features and the network's class probabilities (both float64;
    probabilities None for a weight file without an output layer)."""
    dev = torch.device(device)
    model = load_inception(path, mode, dev)
    weight = output_weight(model)

    @torch.no_grad()
    def extract(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if x.ndim != 4 or x.dtype != np.uint8:
            raise ValueError("the Inception extractor takes uint8 NCHW images")
        feats, probs = [], []
        for i in range(0, len(x), batch):
            f = model(preprocess_batch(x[i : i + batch], mode).to(dev)).double()
            feats.append(f.cpu().numpy())
            if weight is not None:
                probs.append(class_probabilities(f, weight).cpu().numpy())
        if not feats:
            return np.zeros((0, FEATURE_DIM)), None
        return np.concatenate(feats), (np.concatenate(probs) if probs else None)

    return extract


def configured_inception(ev: dict[str, Any]) -> tuple[Extractor | None, str]:
    """(the Inception extractor `eval` asks for, a one-line description), or (None, the line saying why it is
    unavailable)."""
    from gangrid.runtime import pick_device

    mode = inception_mode(ev)
    weights = find_weights(ev)
    if weights is None:
        return None, inception_unavailable(ev)
    inc = ev.get("inception") or {}
    extractor = inception_extractor(weights, mode, pick_device(str(ev.get("device", "auto"))), int(inc.get("batch_size", 50)))
    return extractor, f"Inception-V3 pool3 features (2048-d) through clean-fid, mode {mode}"
