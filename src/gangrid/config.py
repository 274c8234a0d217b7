"""params.yaml: loading, structural validation, the grid of runs, and per-run resolution.

This module imports no torch, so orchestrators (the Snakefile, `gangrid runs`)
can enumerate the grid quickly. Cross-checks against the registries live in
`gangrid.validate`.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator, Sequence

import yaml

from gangrid.artifacts import RunFiles, run_files
from gangrid.errors import ConfigError
from gangrid.io import sha256_json
from gangrid.yaml12 import load_yaml, resolve_strings

PARAMS_FILE = "params.yaml"
SCHEMA_FILE = Path(__file__).with_name("params.schema.yaml")
AXES = ("datasets", "archs", "losses", "tricks")
SINGULAR = {"datasets": "dataset", "archs": "arch", "losses": "loss", "tricks": "trick"}
FROM_ARCH = "arch"  # a loss preset's `fn: arch`: each architecture's own loss (its preset's `loss` key)
ARCH_RECIPE = ("train", "tricks", "loss")  # arch preset keys that are training recipe, not net options


@dataclass(frozen=True, order=True)
class RunSpec:
    """One point of a study's grid: its coordinates, name and output directory."""

    study: str
    dataset: str
    arch: str
    loss: str
    trick: str
    seed: int

    @property
    def name(self) -> str:
        """Run name built from the grid coordinates, e.g. `digits-dcgan16-hinge-sn-s0`."""
        return f"{self.dataset}-{self.arch}-{self.loss}-{self.trick}-s{self.seed}"

    @property
    def variant(self) -> str:
        """The run name without its seed: runs of one variant differ only by seed."""
        return f"{self.dataset}-{self.arch}-{self.loss}-{self.trick}"

    @property
    def files(self) -> RunFiles:
        """The run's output files (gangrid.artifacts)."""
        return run_files(self.study, self.name)

    @property
    def dir(self) -> Path:
        """`results/<study>/<run>`, relative to the repository root."""
        return self.files.dir


def read_yaml(path: str | Path) -> dict[str, Any]:
    """One params (or preset) file as a mapping, read as YAML 1.2 (as DVC reads it) by a safe loader;
    malformed YAML names the file and line."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"missing params file {path}") from None
    params = load_yaml(text, str(path))
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(params).__name__}")
    return params


def parse_set(assignment: str) -> dict[str, Any]:
    """`KEY=VALUE` (a dotted params key, a YAML 1.2 value: `train.lr=1e-4`, `train.betas=[0.0, 0.9]`) as an
    overlay mapping, e.g. {"train": {"lr": 0.0001}}; `KEY=null` deletes the key."""
    key, sep, value = assignment.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(parts):
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE with a dotted params key, e.g. train.lr=1e-4")
    layer: Any = load_yaml(value, f"--set {key}") if value.strip() else None
    for part in reversed(parts):
        layer = {part: layer}
    return layer


def overrides_as_sets(overrides: dict[str, Any], prefix: str = "") -> list[str]:
    """A nested overlay (Snakemake's `--config`, whose nested values arrive as strings) as `KEY=VALUE`
    assignments for `--set`, its strings read as YAML 1.2 scalars."""
    out = []
    for key, value in overrides.items():
        if isinstance(value, dict) and value:
            out += overrides_as_sets(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}={json.dumps(resolve_strings(value))}")
    return out


def overlay(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """`base` with a preset `layer` on top: mappings merge, other values (lists too) replace, null deletes."""
    out = dict(base)
    for key, value in layer.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = overlay(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_params(path: str | Path | Sequence[str | Path] = PARAMS_FILE, sets: Sequence[str] = ()) -> dict[str, Any]:
    """Read params.yaml (and preset overlays after it, e.g. presets/paper.yaml; then `KEY=VALUE` assignments,
    `parse_set`) with safe loading (no Python objects; duplicate keys refused) and check the structure of the result."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    params = read_yaml(paths[0])
    for extra in paths[1:]:
        params = overlay(params, read_yaml(extra))
    for assignment in sets:
        params = overlay(params, parse_set(assignment))
    check_schema(params, source=" + ".join([str(p) for p in paths] + [f"--set {s}" for s in sets]))
    return params


@lru_cache(maxsize=1)
def _schema_validator() -> Any:
    import jsonschema

    schema = yaml.safe_load(SCHEMA_FILE.read_text())
    return jsonschema.Draft202012Validator(schema)


def _key_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def check_schema(params: dict[str, Any], source: str = PARAMS_FILE) -> None:
    """Raise ConfigError naming the first key (in document order) that breaks the schema."""
    errors = sorted(_schema_validator().iter_errors(params), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return
    err = errors[0]
    key = _key_path(err.absolute_path)
    message = err.message
    if err.validator in ("additionalProperties", "unevaluatedProperties"):
        message = re.sub(r"(Additional|Unevaluated) properties are not allowed", "unknown key(s)", message)
    elif err.validator == "pattern":
        message = f"{err.instance!r} is not a valid name (letters, digits, '_' and '+' only)"
    elif err.validator == "propertyNames":
        message = f"{err.instance!r} is not a valid name (letters, digits, '_' and '+' only)"
    raise ConfigError(f"{source}: {key}: {message}")


def iter_runs(params: dict[str, Any], studies: Iterable[str] | None = None) -> Iterator[RunSpec]:
    """Every run of every study (or of `studies`), in params order: the grid."""
    for study_name, study in params["studies"].items():
        if studies is not None and study_name not in studies:
            continue
        for dataset, arch, loss, trick, seed in itertools.product(
            study["datasets"], study["archs"], study["losses"], study["tricks"], study["seeds"]
        ):
            yield RunSpec(study_name, dataset, arch, loss, trick, int(seed))


def find_run(params: dict[str, Any], study: str, name: str) -> RunSpec:
    """The run of `study` called `name`; a ConfigError if the grid has no such study or run."""
    if study not in params["studies"]:
        raise ConfigError(f"unknown study '{study}' (known in studies: {', '.join(params['studies'])})")
    for spec in iter_runs(params, [study]):
        if spec.name == name:
            return spec
    raise ConfigError(f"study '{study}' has no run named '{name}' (see `gangrid runs`)")


def deep_merge(*layers: dict[str, Any] | None) -> dict[str, Any]:
    """Merge mappings left to right; nested mappings merge, other values are replaced."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = deep_merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


def _preset(params: dict[str, Any], section: str, name: str, key: str) -> dict[str, Any]:
    try:
        return params[section][name]
    except KeyError:
        known = ", ".join(sorted(params.get(section, {}))) or "none"
        raise ConfigError(f"{key}: unknown {SINGULAR.get(section, section)} preset '{name}' (known in {section}: {known})") from None


def resolve_run(params: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
    """A run's effective config: train defaults + dataset + arch + loss + trick(s) + study + seed.

    Arch and loss presets may carry `train` overrides (e.g. WGAN: RMSprop,
    n_critic 5) and implied `tricks` (e.g. WGAN's weight clipping, AC-GAN's
    auxiliary classifier loss); trick presets map trick modules to their
    hyperparameters and may carry `train` overrides (e.g. TTUR's two learning
    rates). Later layers win: train < arch < loss < trick < study, for the two learning rates
    too (`learning_rates`: a later layer's `lr` replaces an earlier layer's lr_g / lr_d pair).
    """
    where = f"studies.{spec.study}"
    study = params["studies"][spec.study]
    dataset = _preset(params, "datasets", spec.dataset, f"{where}.datasets")
    arch = _preset(params, "archs", spec.arch, f"{where}.archs")
    loss = _preset(params, "losses", spec.loss, f"{where}.losses")
    trick = _preset(params, "tricks", spec.trick, f"{where}.tricks")
    layers = (params["train"], arch.get("train"), loss.get("train"), trick.get("train"), study.get("train"))
    train = deep_merge(*layers)
    train["lr_g"], train["lr_d"] = learning_rates(layers)
    tricks = deep_merge(arch.get("tricks"), loss.get("tricks"), {k: v for k, v in trick.items() if k != "train"})
    fn = loss_fn(loss, arch, spec)
    return {
        "run": {
            "study": spec.study,
            "kind": study.get("kind", "gan"),
            "name": spec.name,
            "variant": spec.variant,
            "dataset": spec.dataset,
            "arch": spec.arch,
            "loss": spec.loss,
            "trick": spec.trick,
            "seed": spec.seed,
        },
        "dataset": {"name": spec.dataset, **dataset},
        "arch": {"name": spec.arch, **{k: v for k, v in arch.items() if k not in ARCH_RECIPE}},
        "loss": {"name": spec.loss, "fn": fn},
        "tricks": tricks,
        "train": train,
        "track": track_config(params),
        "seed": spec.seed,
    }


def track_config(params: dict[str, Any]) -> dict[str, Any]:
    """A run's in-training evaluation: `eval.track` with its schedule `every` (`eval.every` steps; 0: off)."""
    ev = params["eval"]
    return {**copy.deepcopy(ev.get("track") or {}), "every": int(ev.get("every", 0))}


def loss_fn(loss: dict[str, Any], arch: dict[str, Any], spec: RunSpec) -> str:
    """The registered loss a run trains with: the loss preset's `fn`, or with `fn: arch` (a preset such
    as `paper`) the arch preset's own `loss` (its paper's objective)."""
    if loss["fn"] != FROM_ARCH:
        return loss["fn"]
    if not arch.get("loss"):
        raise ConfigError(f"archs.{spec.arch}.loss: missing; loss preset '{spec.loss}' (fn: {FROM_ARCH}) trains each "
                          f"architecture with the loss its preset names (study {spec.study})")
    return arch["loss"]


def learning_rates(layers: Sequence[dict[str, Any] | None]) -> tuple[float, float]:
    """(lr_g, lr_d) of train layers applied in order: a layer's `lr` sets both rates, its
    `lr_g` / `lr_d` (which win over its own `lr`) set one; later layers win."""
    lr_g = lr_d = None
    for layer in layers:
        layer = layer or {}
        if layer.get("lr") is not None:
            lr_g = lr_d = layer["lr"]
        if layer.get("lr_g") is not None:
            lr_g = layer["lr_g"]
        if layer.get("lr_d") is not None:
            lr_d = layer["lr_d"]
    return lr_g, lr_d


def config_hash(config: dict[str, Any]) -> str:
    """Hash of everything that determines a run's training (its identity for checkpoints)."""
    return sha256_json({k: v for k, v in config.items() if k != "run"} | {"kind": config["run"]["kind"]})


def study_baseline(params: dict[str, Any], study: str) -> dict[str, str]:
    """The study's baseline coordinates (loss, trick, optionally arch); defaults to the first of each axis."""
    spec = params["studies"][study]
    base = {"loss": spec["losses"][0], "trick": spec["tricks"][0]}
    base.update({k: v for k, v in (spec.get("baseline") or {}).items() if k != "study"})
    return base


def baseline_study(params: dict[str, Any], study: str) -> str:
    """The study whose runs hold `study`'s baseline: itself, or the one `baseline.study` names
    (a study sharing another's baseline runs instead of training them twice)."""
    return (params["studies"][study].get("baseline") or {}).get("study", study)


def safe_relpath(value: str, key: str) -> PurePosixPath:
    """A path from params that must stay inside the repository (no absolute path, no '..')."""
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts:
        raise ConfigError(f"{key}: path '{value}' must be relative to the repository and must not contain '..'")
    return path


def datasets_used(params: dict[str, Any]) -> list[str]:
    """Names of datasets some study uses, in params order."""
    used = {d for study in params["studies"].values() for d in study["datasets"]}
    return [name for name in params["datasets"] if name in used]
