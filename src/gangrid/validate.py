"""Cross-checks of params.yaml against the registries, run before any stage does work.

`load_params` has already checked the structure against the JSON schema; here
we check that every name resolves (presets, sources, families, losses, tricks,
metrics), that dataset options and trick hyperparameters have the right types,
that each run's effective `train` section (defaults overridden by its presets)
is in range, that each arch supports each dataset it is paired with, and that
baselines lie on their study's axes. Errors are one line naming the key.
`check_processed` verifies a processed dataset's files against their manifest.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from gangrid.config import ARCH_RECIPE, FROM_ARCH, SINGULAR, baseline_study, deep_merge, iter_runs, resolve_run, study_baseline
from gangrid.errors import ConfigError, DataError
from gangrid.nets import DataSpec


AXIS_OF = {"dataset": "datasets", "arch": "archs", "loss": "losses", "trick": "tricks"}


@contextlib.contextmanager
def bad_values(key: str, cfg: dict[str, Any] | None = None) -> Iterator[None]:
    """Turn a TypeError/ValueError raised while checking or building `key` into a ConfigError naming it.

    Registry code converts values with int()/float() and compares them; a
    value of the wrong type (`hidden: wide`) then fails deep inside. When one
    string value of `cfg` appears in the error, the message names its key.
    """
    try:
        yield
    except (TypeError, ValueError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        culprits = [k for k, v in (cfg or {}).items() if isinstance(v, str) and repr(v) in text]
        where = f"{key}.{culprits[0]}" if len(culprits) == 1 else key
        raise ConfigError(f"{where}: bad value ({text})") from None


def _type_error(value: Any, default: Any) -> str | None:
    """Why `value` cannot stand in for a hyperparameter whose default is `default`, or None."""
    if value is None or default is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "expected true or false"
    if isinstance(default, (int, float)):
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "expected a number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "expected a string"
    if isinstance(default, (list, tuple)):
        return None if isinstance(value, list) else "expected a list"
    return None


def check_trick_types(tricks_cfg: dict[str, Any] | None, key: str) -> None:
    """ConfigError naming `key.<trick>.<hparam>` for a hyperparameter whose type differs from its default's."""
    from gangrid.tricks import TRICKS, build_tricks

    build_tricks({}, key)  # imports every trick module (registers them)
    for name, hparams in (tricks_cfg or {}).items():
        if name not in TRICKS or not isinstance(hparams, dict):
            continue  # build_tricks names unknown tricks and non-mapping hyperparameters
        defaults = TRICKS.get(name).defaults
        for hparam, value in hparams.items():
            if hparam in defaults and (why := _type_error(value, defaults[hparam])):
                raise ConfigError(f"{key}.{name}.{hparam}: {why}, got {value!r}")


def build_checked_tricks(tricks_cfg: dict[str, Any] | None, key: str) -> list[Any]:
    """`build_tricks` after the type check, with wrong values reported as one ConfigError line."""
    from gangrid.tricks import build_tricks

    check_trick_types(tricks_cfg, key)
    with bad_values(key):
        return build_tricks(tricks_cfg or {}, key)


def data_spec(name: str, cfg: dict[str, Any]) -> DataSpec:
    """What the nets will know of dataset `name` (kind, sample shape, classes), from its params alone."""
    from gangrid.data import check_dataset_cfg

    key = f"datasets.{name}"
    with bad_values(key, cfg):
        source = check_dataset_cfg(name, cfg, key)
        native = getattr(source, "native", {})
        if source.kind == "points":
            return DataSpec("points", (2,), 0)
        res = int(cfg.get("resolution", native.get("resolution", 0)))
        ch = int(cfg.get("channels", native.get("channels", 1)))
        return DataSpec(source.kind, (ch, res, res), int(native.get("classes", 0)))


def data_specs(params: dict[str, Any]) -> dict[str, DataSpec]:
    """`data_spec` of every dataset preset, by name."""
    return {name: data_spec(name, cfg) for name, cfg in params["datasets"].items()}


def _check_axis(params: dict[str, Any], study: str, axis: str) -> None:
    section = axis  # study axes are named after their sections
    for i, name in enumerate(params["studies"][study][axis]):
        if name not in params[section]:
            known = ", ".join(params[section]) or "none"
            raise ConfigError(f"studies.{study}.{axis}[{i}]: unknown {SINGULAR[section]} preset '{name}' (known: {known})")


def _check_study_kind(params: dict[str, Any], study: str, source_kinds: dict[str, str]) -> None:
    """A study's kind must be registered, and its datasets and architecture families of that kind."""
    from gangrid.kinds import kind_info, owner_of, study_kind
    from gangrid.nets import get_family

    spec = params["studies"][study]
    kind = study_kind(spec)
    info = kind_info(kind, f"studies.{study}.kind")
    for i, name in enumerate(spec["datasets"]):
        data_kind = source_kinds[name]
        if data_kind not in info.data_kinds:
            try:
                hint = f" (set `kind: {owner_of(data_kind).name}` for {data_kind} sets)"
            except KeyError:
                hint = ""
            raise ConfigError(f"studies.{study}.datasets[{i}]: '{name}' holds {data_kind} data; a {kind} study "
                              f"takes {' or '.join(info.data_kinds)} data{hint}")
    for i, name in enumerate(spec["archs"]):
        family = params["archs"][name]["family"]
        fkind = get_family(family, f"archs.{name}.family").study_kind
        if fkind != kind:
            raise ConfigError(f"studies.{study}.archs[{i}]: '{name}' (family {family}) belongs in a {fkind} study, "
                              f"not a {kind} study")


def train_origin(params: dict[str, Any], run: Any, top: str) -> str:
    """The params key that sets `train.<top>` for a run: the last layer of train < arch < loss < trick < study."""
    layers = [
        (f"studies.{run.study}.train", params["studies"][run.study].get("train")),
        (f"tricks.{run.trick}.train", params["tricks"][run.trick].get("train")),
        (f"losses.{run.loss}.train", params["losses"][run.loss].get("train")),
        (f"archs.{run.arch}.train", params["archs"][run.arch].get("train")),
    ]
    for key, layer in layers:
        if isinstance(layer, dict) and top in layer:
            return key
    return "train"


def check_train_overrides(params: dict[str, Any]) -> None:
    """ConfigError naming the key unless every `train` override of a preset or study is a train key of the
    right type and range (checked where it is written, even where a later layer overrides it)."""
    from gangrid.config import _schema_validator

    validator = _schema_validator()
    props = validator.schema["properties"]["train"]["properties"]
    for section in ("archs", "losses", "tricks", "studies"):
        for name, preset in params.get(section, {}).items():
            overrides = preset.get("train") if isinstance(preset, dict) else None
            if not isinstance(overrides, dict):
                continue
            for key, value in overrides.items():
                where = f"{section}.{name}.train.{key}"
                if key not in props:
                    raise ConfigError(f"{where}: unknown train key (known: {', '.join(sorted(props))})")
                sub = validator.evolve(schema={"$defs": validator.schema["$defs"], **props[key]})
                err = next(iter(sub.iter_errors(value)), None)
                if err is not None:
                    raise ConfigError(f"{where}: {err.message}")


def check_run_train(params: dict[str, Any], run: Any) -> None:
    """ConfigError naming the preset key unless the run's effective `train` section satisfies the schema.

    Presets and studies may override train settings (`losses.wgan.train.lr`),
    which the schema cannot type-check where they are written.
    """
    from gangrid.config import _key_path, _schema_validator

    validator = _schema_validator()
    schema = {"$defs": validator.schema["$defs"], **validator.schema["properties"]["train"]}
    train = resolve_run(params, run)["train"]
    train = {k: v for k, v in train.items() if not (k in ("lr_g", "lr_d") and v is None)}
    errors = sorted(validator.evolve(schema=schema).iter_errors(train), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        err = errors[0]
        path = list(err.absolute_path)
        origin = train_origin(params, run, str(path[0])) if path else "train"
        raise ConfigError(f"{origin}.{_key_path(path)}: {err.message} (run {run.study}/{run.name})")


def validate(params: dict[str, Any]) -> None:
    """Raise ConfigError (naming the key) unless every name and pairing in params is valid."""
    from gangrid.losses import LOSSES
    from gangrid.metrics import get_metric
    from gangrid.nets import get_family

    from gangrid.data import check_dataset_cfg

    specs = data_specs(params)
    source_kinds = {name: check_dataset_cfg(name, cfg).kind for name, cfg in params["datasets"].items()}
    for name, arch in params["archs"].items():
        get_family(arch["family"], f"archs.{name}.family")
        build_checked_tricks(arch.get("tricks"), f"archs.{name}.tricks")
        if arch.get("loss") is not None:
            LOSSES.get(arch["loss"], f"archs.{name}.loss")
    for name, loss in params["losses"].items():
        if loss["fn"] != FROM_ARCH:
            LOSSES.get(loss["fn"], f"losses.{name}.fn")
        build_checked_tricks(loss.get("tricks"), f"losses.{name}.tricks")
    for name, trick in params["tricks"].items():
        build_checked_tricks({k: v for k, v in trick.items() if k != "train"}, f"tricks.{name}")
    for i, metric in enumerate(params["eval"].get("metrics", [])):
        get_metric(metric, f"eval.metrics[{i}]")
    check_train_overrides(params)
    for study, spec in params["studies"].items():
        for axis in ("datasets", "archs", "losses", "tricks"):
            _check_axis(params, study, axis)
        _check_study_kind(params, study, source_kinds)
        base = study_baseline(params, study)
        home = baseline_study(params, study)
        if home not in params["studies"]:
            raise ConfigError(f"studies.{study}.baseline.study: unknown study '{home}' (known: {', '.join(params['studies'])})")
        home_spec = params["studies"][home]
        where = "the study's" if home == study else f"study {home}'s"
        for axis, value in base.items():
            values = home_spec[AXIS_OF[axis]]
            if value not in values:
                raise ConfigError(f"studies.{study}.baseline.{axis}: '{value}' is not on {where} {AXIS_OF[axis]} axis {values}")
        if home != study:  # every dataset (and arch, unless fixed) needs its baseline runs there
            for axis in ("datasets",) + (() if "arch" in base else ("archs",)):
                missing = [v for v in spec[axis] if v not in home_spec[axis]]
                if missing:
                    raise ConfigError(f"studies.{study}.baseline.study: study {home} has no {axis} {missing} "
                                      f"to hold the baseline runs of {study}")
    checked: set[tuple[str, str, str]] = set()
    trained: set[tuple[str, str, str, str]] = set()
    for run in iter_runs(params):
        if (run.study, run.arch, run.loss, run.trick) not in trained:
            trained.add((run.study, run.arch, run.loss, run.trick))
            check_run_train(params, run)
        key = (run.dataset, run.arch, run.trick)
        if key in checked:
            continue
        checked.add(key)
        trick = params["tricks"][run.trick]
        arch_preset = params["archs"][run.arch]
        implied = deep_merge(arch_preset.get("tricks"), params["losses"][run.loss].get("tricks"))
        overrides = {}
        for t in build_checked_tricks(deep_merge(implied, {k: v for k, v in trick.items() if k != "train"}), f"tricks.{run.trick}"):
            overrides.update(t.arch_overrides())
        arch = deep_merge({"name": run.arch, "z_dim": params["train"]["z_dim"]},
                          {k: v for k, v in arch_preset.items() if k not in ARCH_RECIPE}, overrides)
        family = get_family(arch["family"], f"archs.{run.arch}.family")
        if family.check is not None:
            try:
                with bad_values(f"archs.{run.arch}", arch):
                    family.check(arch, specs[run.dataset])
            except ConfigError as exc:
                raise ConfigError(f"studies.{run.study}: dataset '{run.dataset}' with {exc}") from None


def check_processed(dataset: str, split: str) -> None:
    """Raise DataError naming the file unless every array of `split` exists and matches its manifest sha256."""
    from gangrid.data.store import processed_dir, read_manifest
    from gangrid.io import sha256_file

    manifest = read_manifest(dataset)
    root = processed_dir(dataset)
    files = {name: entry for name, entry in (manifest.get("files") or {}).items() if name.startswith(f"{split}_")}
    if not files:
        raise DataError(f"{root / 'manifest.json'}: lists no '{split}' files; rerun `gangrid preprocess {dataset}`")
    for name, entry in sorted(files.items()):
        path = root / name
        if not path.exists():
            raise DataError(f"missing {path}: rerun `gangrid preprocess {dataset}`")
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if expected and sha256_file(path) != expected:
            raise DataError(f"{path}: sha256 does not match {root / 'manifest.json'} (the file changed or is corrupt); "
                            f"rerun `gangrid preprocess {dataset}`")
