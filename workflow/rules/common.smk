# Shared definitions: the params file, the grid of runs, resources and code inputs.
import json
from pathlib import Path

from snakemake.utils import validate

from gangrid.config import SCHEMA_FILE, iter_runs, load_params, resolve_run


configfile: "params.yaml"


# With --configfile FILE, FILE is the complete params file (gangrid reads it too);
# Snakemake's own merge with params.yaml is not used for the grid.
PARAMS_FILE = str((list(workflow.overwrite_configfiles) or ["params.yaml"])[-1])
P = load_params(PARAMS_FILE)
validate(P, str(SCHEMA_FILE))
GANGRID = f"gangrid --params {PARAMS_FILE}"

RUNS = {(s.study, s.name): s for s in iter_runs(P)}
STUDIES = list(P["studies"])
DATASETS = sorted({s.dataset for s in RUNS.values()})


wildcard_constraints:
    study="|".join(STUDIES),
    run=r"[A-Za-z0-9_+\-]+",
    dataset=r"[A-Za-z0-9_+]+",


def spec(w):
    """The RunSpec of a job's {study}/{run} wildcards."""
    return RUNS[(w.study, w.run)]


def run_config(w):
    """The run's resolved config as canonical JSON (feeds the params rerun trigger)."""
    return json.dumps(resolve_run(P, spec(w)), sort_keys=True)


def resource(section, key, default):
    """A resource from params (`train.resources` / `eval.resources`)."""
    return P.get(section, {}).get("resources", {}).get(key, default)


def code(*paths):
    """Source files a rule depends on (so a code change reruns its jobs)."""
    files = []
    for p in paths:
        path = Path("src/gangrid") / p
        files += sorted(str(f) for f in path.rglob("*.py")) if path.is_dir() else [str(path)]
    return files


def run_dir(w):
    return f"results/{w.study}/{w.run}"
