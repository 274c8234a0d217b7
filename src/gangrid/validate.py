"""Cross-checks of params.yaml against the registries, run before any stage does work.

`load_params` has already checked the structure against the JSON schema; here
we check that every name resolves (presets, sources, families, losses, tricks,
metrics), that each arch supports each dataset it is paired with, and that
baselines lie on their study's axes. Errors are one line naming the key.
"""

from __future__ import annotations

from typing import Any

from gangrid.config import deep_merge, iter_runs, study_baseline
from gangrid.errors import ConfigError
from gangrid.nets import DataSpec


AXIS_OF = {"dataset": "datasets", "arch": "archs", "loss": "losses", "trick": "tricks"}


def _data_spec(name: str, cfg: dict[str, Any]) -> DataSpec:
    from gangrid.data import get_source

    source = get_source(cfg["source"], f"datasets.{name}.source")
    native = getattr(source, "native", {})
    if source.kind == "points":
        return DataSpec("points", (2,), 0)
    res = int(cfg.get("resolution", native.get("resolution", 0)))
    ch = int(cfg.get("channels", native.get("channels", 1)))
    return DataSpec("image", (ch, res, res), int(native.get("classes", 0)))


def _check_axis(params: dict[str, Any], study: str, axis: str) -> None:
    section = axis  # study axes are named after their sections
    for i, name in enumerate(params["studies"][study][axis]):
        if name not in params[section]:
            known = ", ".join(params[section]) or "none"
            raise ConfigError(f"studies.{study}.{axis}[{i}]: unknown {section[:-1]} preset '{name}' (known: {known})")


def validate(params: dict[str, Any]) -> None:
    """Raise ConfigError (naming the key) unless every name and pairing in params is valid."""
    from gangrid.losses import LOSSES
    from gangrid.metrics import get_metric
    from gangrid.nets import get_family
    from gangrid.tricks import build_tricks

    specs = {name: _data_spec(name, cfg) for name, cfg in params["datasets"].items()}
    for name, arch in params["archs"].items():
        get_family(arch["family"], f"archs.{name}.family")
        build_tricks(arch.get("tricks") or {}, f"archs.{name}.tricks")
    for name, loss in params["losses"].items():
        LOSSES.get(loss["fn"], f"losses.{name}.fn")
        build_tricks(loss.get("tricks") or {}, f"losses.{name}.tricks")
    for name, trick in params["tricks"].items():
        build_tricks({k: v for k, v in trick.items() if k != "train"}, f"tricks.{name}")
    for i, metric in enumerate(params["eval"].get("metrics", [])):
        get_metric(metric, f"eval.metrics[{i}]")
    for study, spec in params["studies"].items():
        for axis in ("datasets", "archs", "losses", "tricks"):
            _check_axis(params, study, axis)
        base = study_baseline(params, study)
        for axis, value in base.items():
            values = spec[AXIS_OF[axis]]
            if value not in values:
                raise ConfigError(f"studies.{study}.baseline.{axis}: '{value}' is not on the study's {AXIS_OF[axis]} axis {values}")
    checked: set[tuple[str, str, str]] = set()
    for run in iter_runs(params):
        key = (run.dataset, run.arch, run.trick)
        if key in checked:
            continue
        checked.add(key)
        trick = params["tricks"][run.trick]
        arch_preset = params["archs"][run.arch]
        implied = deep_merge(arch_preset.get("tricks"), params["losses"][run.loss].get("tricks"))
        overrides = {}
        for t in build_tricks(deep_merge(implied, {k: v for k, v in trick.items() if k != "train"}), f"tricks.{run.trick}"):
            overrides.update(t.arch_overrides())
        arch = deep_merge({"name": run.arch, "z_dim": params["train"]["z_dim"]},
                          {k: v for k, v in arch_preset.items() if k not in ("train", "tricks")}, overrides)
        family = get_family(arch["family"], f"archs.{run.arch}.family")
        if family.check is not None:
            try:
                family.check(arch, specs[run.dataset])
            except ConfigError as exc:
                raise ConfigError(f"studies.{run.study}: dataset '{run.dataset}' with {exc}") from None
