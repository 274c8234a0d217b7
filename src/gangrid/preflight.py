"""Every check of params that can run before a job starts, for `gangrid validate`, the stage commands and Snakemake.

A grid of hundreds of jobs should fail here, in one line naming the key, not hours later in one
job: names, pairings and ranges (gangrid.validate), the `report:` settings the aggregate stage
reads, the memory of the sample and evaluate stages (gangrid.memory) and, in `gangrid
validate` and at Snakemake's start, every run built as its train stage builds it
(gangrid.buildcheck).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from gangrid.errors import UserError


def check_params(params: dict[str, Any], deep: bool = False) -> None:
    """ConfigError naming the key unless params are valid; `deep`: also build every distinct run (a few seconds)."""
    from gangrid.buildcheck import check_builds
    from gangrid.memory import check_memory
    from gangrid.report.settings import report_settings
    from gangrid.validate import data_specs, validate

    validate(params)
    report_settings(params)
    specs = data_specs(params)
    check_memory(params, specs)
    if deep:
        check_builds(params, specs)


def snakemake_params(files: Sequence[str | Path], config: Mapping[str, Any], main: bool) -> tuple[dict[str, Any], list[str]]:
    """(params, the `--set` assignments of Snakemake's `--config`) of a Snakemake run: the params files with
    `--config` on top, its values read as YAML 1.2 like the files, fully checked in Snakemake's main process.

    Bad params print `error: <the line gangrid validate prints>` and exit with status 2, before any job is scheduled.
    """
    from gangrid.config import load_params, overrides_as_sets

    try:
        sets = overrides_as_sets(dict(config))
        params = load_params(files, sets)
        if main:
            check_params(params, deep=True)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return params, sets
