# Shared definitions: the params file (schema-validated), the grid of runs, resources, code inputs.
import json
import os
from pathlib import Path

from snakemake.utils import validate

from gangrid.config import SCHEMA_FILE, iter_runs, load_params, resolve_run
from gangrid.pipelines import STAGE_CODE, TRANSLATION_CODE


configfile: "params.yaml"


# `--configfile presets/X.yaml` overlays a preset on params.yaml (mappings merge, lists replace,
# null deletes: gangrid.config.overlay); every gangrid command gets the same files, in order.
PARAMS_FILES = ["params.yaml"] + [str(f) for f in workflow.overwrite_configfiles if str(f) != "params.yaml"]
P = load_params(PARAMS_FILES)
validate(P, str(SCHEMA_FILE))
GANGRID = "gangrid " + " ".join(f"--params {f}" for f in PARAMS_FILES)

RUNS = {(s.study, s.name): s for s in iter_runs(P)}
STUDIES = list(P["studies"])
DATASETS = sorted({s.dataset for s in RUNS.values()})
RUN_DIRS = [s.dir.as_posix() for s in RUNS.values()]


# The metric protocol (thread count included: it changes float results): the params rerun trigger of evaluate jobs.
EVAL_PROTOCOL = json.dumps(P["eval"], sort_keys=True)
# Statistics / figure / paper settings of aggregate, plots and report.
REPORT_SETTINGS = json.dumps(P.get("report", {}), sort_keys=True)


wildcard_constraints:
    study="|".join(STUDIES),
    run=r"[A-Za-z0-9_+\-]+",
    dataset=r"[A-Za-z0-9_+]+",


def spec(w):
    """The RunSpec of a job's {study}/{run} wildcards."""
    return RUNS[(w.study, w.run)]


def run_config(w):
    """The run's resolved config (its train.threads included) as canonical JSON: the params rerun trigger of its jobs."""
    return json.dumps(resolve_run(P, spec(w)), sort_keys=True)


def n_threads(section):
    """CPU threads a job reserves (`train.threads` / `eval.threads`); a run whose arch, loss, trick or study
    sets a lower `train.threads` (the 2-D MLPs: 1) uses that many inside the reservation."""
    return int(P.get(section, {}).get("threads", 1))


def resource(section, key, default):
    """One scheduling resource from params (`resources.train` / `resources.eval`)."""
    return P.get("resources", {}).get(section, {}).get(key, default)


# Scheduler placement from the environment (never part of the science, so not in params):
# GANGRID_SLURM_ACCOUNT (sbatch -A), GANGRID_SLURM_PARTITION (sbatch -p for every job) and
# GANGRID_SLURM_GPU_PARTITION (sbatch -p for jobs that request GPUs). Unset = the
# cluster's default; other executors ignore these resources.
def placement(gpus=0):
    """slurm_account / slurm_partition resources taken from the environment (only those set)."""
    out = {}
    if os.environ.get("GANGRID_SLURM_ACCOUNT"):
        out["slurm_account"] = os.environ["GANGRID_SLURM_ACCOUNT"]
    partition = (gpus and os.environ.get("GANGRID_SLURM_GPU_PARTITION")) or os.environ.get("GANGRID_SLURM_PARTITION")
    if partition:
        out["slurm_partition"] = partition
    return out


def job_resources(section, mem_mb, runtime):
    """Resources of a job from `resources.<section>` in params: gpu (-> sbatch --gpus), mem_mb, runtime (min)."""
    gpus = int(resource(section, "gpu", 0))
    return {
        "gpu": gpus,
        "mem_mb": int(resource(section, "mem_mb", mem_mb)),
        "runtime": int(resource(section, "runtime", runtime)),
        **placement(gpus),
    }


def code(*paths):
    """Source files a rule depends on (so a code change reruns its jobs)."""
    files = []
    for p in paths:
        path = Path("src/gangrid") / p
        files += sorted(str(f) for f in path.rglob("*.py")) if path.is_dir() else [str(path)]
    return files


def study_code(*paths):
    """Input function: `code(*paths)`, plus the translation package for runs of translation studies."""

    def files(w):
        extra = (TRANSLATION_CODE,) if P["studies"][w.study].get("kind", "gan") == "translation" else ()
        return code(*paths, *extra)

    return files


def dataset_code(*paths):
    """Input function: `code(*paths)`, plus the translation package for image-to-image datasets."""

    def files(w):
        from gangrid.data import get_source

        kind = getattr(get_source(P["datasets"][w.dataset]["source"]), "kind", "image")
        return code(*paths, *(("translation",) if kind in ("paired", "unpaired") else ()))

    return files


def run_dir(w):
    """`results/<study>/<run>` of a job."""
    return f"results/{w.study}/{w.run}"
