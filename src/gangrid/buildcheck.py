"""Every run of the grid built as its train stage builds it, before any job starts.

The train stage builds a run's trainer (its tricks, nets, the tricks' wrappers and `setup`
checks) before its first step, and refuses a run there: PacGAN with a batch size that is not
a multiple of its pack size, a trick whose layer the architecture lacks, a conditional net
where a trick needs an unconditional one. `check_builds` builds each distinct run config the
same way, on the CPU, from params alone (no data is read; the nets are dropped at once), so
`gangrid validate` and Snakemake's start refuse such a grid with the train stage's own
one-line message, naming the run. The default grid's 36 distinct runs take about 0.5 s,
presets/paper.yaml's 52 about 3 s. (PyTorch's meta device would allocate nothing but is
20x slower: its operations run through Python decompositions.)
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from gangrid.config import RunSpec, config_hash, iter_runs, resolve_run
from gangrid.errors import ConfigError
from gangrid.nets import DataSpec
from gangrid.validate import bad_values, train_origin


def distinct_runs(params: dict[str, Any]) -> Iterator[tuple[RunSpec, dict[str, Any]]]:
    """(the first run, its resolved config) of each group of runs that differ only by seed."""
    seen: set[str] = set()
    for spec in iter_runs(params):
        config = resolve_run(params, spec)
        key = config_hash({**config, "seed": 0})
        if key not in seen:
            seen.add(key)
            yield spec, config


def located(params: dict[str, Any], spec: RunSpec, message: str) -> str:
    """A train-stage message about run `spec`, naming the run if it does not, and the key that sets the
    `train.<key>` it mentions when a preset or the study sets it (`archs.mlp2d.train.batch_size`)."""
    if spec.name not in message:
        message = f"{message} (run {spec.study}/{spec.name})"
    m = re.search(r"\btrain\.(\w+)", message)
    origin = train_origin(params, spec, m.group(1)) if m else "train"
    return message if origin == "train" else f"{message}; {m.group(0)} is set by {origin}.{m.group(1)}"


def check_builds(params: dict[str, Any], specs: dict[str, DataSpec]) -> None:
    """ConfigError (the train stage's message, naming the run) unless every run's trainer can be built."""
    import torch

    from gangrid.kinds import get_kind

    for spec, config in distinct_runs(params):
        kind = get_kind(config["run"]["kind"], f"studies.{spec.study}.kind")
        try:
            with torch.no_grad(), bad_values(f"archs.{spec.arch}"):
                kind.trainer_for(config, specs[spec.dataset], "cpu", optimizers=False)
        except ConfigError as exc:
            raise ConfigError(located(params, spec, str(exc))) from None
        except RuntimeError as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConfigError(f"studies.{spec.study}: run {spec.name} cannot be built (archs.{spec.arch} with "
                              f"tricks.{spec.trick} and losses.{spec.loss}): {first}") from None
