"""Architectures, registered by family name.

A family is a function `build(cfg, data) -> (generator, discriminator)` where
`cfg` is the arch preset from params.yaml (merged with the overrides that
tricks request, e.g. PacGAN's `pack`) and `data` a `DataSpec`. Every generator
maps `(z, y=None)` to a sample; every discriminator maps `(x, y=None)` to a
`DOut(logits, features)`. Families may define `check(cfg, data)` to reject
unsupported shapes with a ConfigError before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import torch
from torch import nn

from gangrid.errors import ConfigError
from gangrid.metrics import Measure, declare_measures
from gangrid.registry import Registry, import_submodules


@dataclass(frozen=True)
class DataSpec:
    """What an architecture needs to know about its data."""

    kind: str  # "image" or "points"
    shape: tuple[int, ...]  # (C, H, W) or (D,)
    n_classes: int = 0


class DOut(NamedTuple):
    """Discriminator output: logits (B,) or a patch map, and penultimate features (B, F)."""

    logits: torch.Tensor
    features: torch.Tensor


@dataclass(frozen=True)
class Family:
    """A registered architecture family."""

    build: Callable[[dict[str, Any], DataSpec], tuple[nn.Module, nn.Module]]
    check: Callable[[dict[str, Any], DataSpec], None] | None = None
    # metrics a trained run's own networks give, from its loaded trainer (the semi-supervised D's accuracy)
    run_metrics: Callable[[Any], dict[str, float]] | None = None
    # its generator draws `figures(seed) -> {name: (images, columns)}` (InfoGAN traversals, StyleGAN mixing)
    figures: bool = False
    # the study kind it belongs to: "gan" (image / point data), "translation" (paired / unpaired sets), ...
    study_kind: str = "gan"


ARCHS: Registry[Family] = Registry("architecture family")


def register_family(name: str, check: Callable[[dict[str, Any], DataSpec], None] | None = None,
                    run_metrics: Callable[[Any], dict[str, float]] | None = None, figures: bool = False,
                    study_kind: str = "gan", run_measures: tuple[Measure, ...] = ()):
    """Decorator registering `build(cfg, data)` as architecture family `name`, with its optional shape
    `check`, `run_metrics(trainer)` (extra metrics of the trained nets that the evaluate stage adds to the
    run's metrics.json, declared as `run_measures`: gangrid.metrics.Measure), `figures` (its generator's
    `figures(seed)` become report figures) and the `study_kind` it trains in."""
    declare_measures(*run_measures)

    def decorator(build):
        ARCHS.register(name)(Family(build=build, check=check, run_metrics=run_metrics, figures=figures,
                                    study_kind=study_kind))
        return build

    return decorator


def get_family(name: str, key: str = "") -> Family:
    """The family registered as `name` (all family modules are imported first)."""
    import_submodules(__name__)
    return ARCHS.get(name, key)


def build_nets(arch_cfg: dict[str, Any], data: DataSpec, key: str = "archs") -> tuple[nn.Module, nn.Module]:
    """Build (G, D) for an arch preset; unsupported data shapes are a ConfigError naming the preset."""
    family = get_family(arch_cfg["family"], f"{key}.family")
    if family.check is not None:
        family.check(arch_cfg, data)
    return family.build(arch_cfg, data)


def require(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless `condition` holds (for family `check` functions)."""
    if not condition:
        raise ConfigError(message)
