"""Study kinds: what each kind of model gives the pipeline's stages.

A study's `kind` (`studies.<name>.kind` in params.yaml, default `gan`) names a registered
kind. A kind is a package `gangrid/kinds/<name>/` whose `__init__` registers a `KindInfo`
(cheap to import: no torch, so the Snakefile and `gangrid pipelines` can read it) that
points at its implementation, a `StudyKind` subclass loaded on first use. The stages look
a run's kind up once and call it; no stage, pipeline generator or Snakemake rule branches
on a kind's name. Everything a kind's runs depend on beyond the shared code lives in its
package, which is what the pipelines list as the kind's code dependency (`kinds/<name>`).

Adding a kind: a package here with a `KindInfo` and a `StudyKind`, plus its nets, tricks
and metrics registered in gangrid.nets / gangrid.tricks / gangrid.metrics, and presets.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from gangrid.registry import Registry, import_submodules

if TYPE_CHECKING:
    import torch

    from gangrid.config import RunSpec
    from gangrid.nets import DataSpec
    from gangrid.training.base import Trainer
    from gangrid.training.tracking import Tracker

DEFAULT_KIND = "gan"


@dataclass(frozen=True)
class KindInfo:
    """A registered study kind: its name, the dataset kinds its studies train on, its implementation.

    `data_kinds`: values of a processed dataset's manifest `kind` ("image", "points",
    "paired", ...) its studies accept. `owns_data`: it also provides the domain classifier
    and the real-data reference row of those datasets (one owner per dataset kind).
    `implementation`: "module:Class" of its `StudyKind`. `builds_on`: kinds whose code its
    implementation reuses (their packages are code dependencies of its runs too).
    """

    name: str
    data_kinds: tuple[str, ...]
    implementation: str
    owns_data: bool = True
    description: str = ""
    builds_on: tuple[str, ...] = ()


class StudyKind:
    """What a kind provides to the stages (one instance per kind and process).

    train stage      `fresh_trainer(config, device)` -> a function building the run's trainer at
                     step 0 with its training data attached (the shared loop of
                     gangrid.training.loop trains it); `build_trainer` for loading a finished run;
                     `tracker(config)` -> the in-training metrics (None: not tracked)
    sample stage     `sample(params, spec, trainer)`: samples.npz and grid.png of a finished run
    evaluate stage   `evaluate(params, spec)` -> metrics.json's values and protocol block
    dataset stages   `train_classifier(params, dataset)` -> the classifier's accuracies;
                     `evaluate_real(params, dataset)` -> the real-data reference row
    """

    info: KindInfo
    trainer_class: type["Trainer"]  # built from (config, DataSpec, device, optimizers) by the default `trainer_for`

    def data_spec(self, dataset: str) -> "DataSpec":
        """What the nets need to know of a processed dataset (kind, shapes, classes)."""
        raise NotImplementedError

    def trainer_for(self, config: dict[str, Any], data: "DataSpec", device: "torch.device | str",
                    optimizers: bool = True) -> "Trainer":
        """A trainer for a resolved run config and a known DataSpec, reading no data (`gangrid validate` builds
        every run of the grid with it from params alone: gangrid.buildcheck)."""
        return self.trainer_class(config, data, device, optimizers)

    def build_trainer(self, config: dict[str, Any], device: "torch.device", optimizers: bool = True) -> "Trainer":
        """A trainer for a resolved run config, without data (`optimizers=False`: for sampling)."""
        raise NotImplementedError

    def fresh_trainer(self, config: dict[str, Any], device: "torch.device") -> Callable[[], "Trainer"]:
        """A function that builds the run's trainer at step 0, seeded and with its training data attached."""
        raise NotImplementedError

    def tracker(self, config: dict[str, Any]) -> "Tracker | None":
        """The run's in-training evaluation (gangrid.training.tracking), or None when the kind tracks nothing."""
        return None

    def sample(self, params: dict[str, Any], spec: "RunSpec", trainer: "Trainer") -> None:
        """Write samples.npz and grid.png of a finished run from its trained `trainer`."""
        raise NotImplementedError

    def evaluate(self, params: dict[str, Any], spec: "RunSpec") -> dict[str, Any]:
        """metrics.json of a finished run: status, metric values, protocol block."""
        raise NotImplementedError

    def evaluate_real(self, params: dict[str, Any], dataset: str) -> dict[str, Any]:
        """The real-data reference row of a dataset this kind owns: metric values and protocol block."""
        raise NotImplementedError

    def train_classifier(self, params: dict[str, Any], dataset: str) -> dict[str, float]:
        """Train (or build) and save the domain classifier of a dataset this kind owns; its accuracies."""
        raise NotImplementedError


KINDS: Registry[KindInfo] = Registry("study kind")
_LOADED: dict[str, StudyKind] = {}


def register_kind(info: KindInfo) -> KindInfo:
    """Register a study kind (call it in the kind package's `__init__`)."""
    KINDS.register(info.name)(info)
    return info


def kind_info(name: str, key: str = "") -> KindInfo:
    """The registered kind `name` (every kind package is imported first); a ConfigError naming `key` if unknown."""
    import_submodules(__name__)
    return KINDS.get(name, key)


def kind_names() -> list[str]:
    """Every registered kind."""
    import_submodules(__name__)
    return KINDS.names()


def code_kinds(name: str) -> tuple[str, ...]:
    """Kind `name` and every kind whose code it builds on (`KindInfo.builds_on`, transitively): whose packages its runs run."""
    out = [name]
    for other in kind_info(name).builds_on:
        out += [k for k in code_kinds(other) if k not in out]
    return tuple(out)


def study_kind(study: dict[str, Any]) -> str:
    """The kind of a study block of params.yaml (`kind`, default gan)."""
    return str(study.get("kind", DEFAULT_KIND))


def get_kind(name: str, key: str = "") -> StudyKind:
    """The implementation of kind `name` (imported on first use)."""
    if name not in _LOADED:
        info = kind_info(name, key)
        module, cls = info.implementation.split(":")
        impl = getattr(importlib.import_module(module), cls)()
        impl.info = info
        _LOADED[name] = impl
    return _LOADED[name]


def owner_of(data_kind: str) -> KindInfo:
    """The kind that owns datasets of `data_kind` (their classifier and real-data row)."""
    import_submodules(__name__)
    for name in KINDS.names():
        info = KINDS.get(name)
        if info.owns_data and data_kind in info.data_kinds:
            return info
    raise KeyError(f"no study kind owns {data_kind} datasets")


def load_finished_run(run_dir: Path, device: "torch.device") -> "Trainer":
    """The trainer of a finished run (config.json + checkpoint.pt), its nets loaded, ready to sample."""
    from gangrid.artifacts import RunFiles
    from gangrid.config import config_hash
    from gangrid.io import read_json
    from gangrid.training.checkpoints import load_checked

    files = RunFiles(Path(run_dir))
    config = read_json(files.config)
    trainer = get_kind(config["run"]["kind"]).build_trainer(config, device, optimizers=False)
    payload = load_checked(files.checkpoint, config_hash(config))
    trainer.load_state_dict(payload["state"], restore_rng=False)
    return trainer
