# Shared definitions: the params file (checked as `gangrid validate` checks it), the grid of runs, resources, code inputs.
# The functions below run once per job while Snakemake builds the DAG (thousands of times in a large
# grid), so what does not depend on the job is computed once (functools.cache; bench/pipeline.py
# measures `snakemake -n`).
import functools
import json
import os
import shlex
from pathlib import Path

from snakemake.utils import validate

from gangrid.config import SCHEMA_FILE, iter_runs
from gangrid.kinds import code_kinds, owner_of, study_kind
from gangrid.preflight import snakemake_params
from gangrid.resources import job_resource
from gangrid.stagetable import STAGES, code_paths


configfile: "params.yaml"


# `--configfile presets/X.yaml` overlays a preset on params.yaml (mappings merge, lists replace,
# null deletes: gangrid.config.overlay), then `--config 'train={lr: 1e-4}'` on top (values read as
# YAML 1.2, as DVC and gangrid read params.yaml; Snakemake's own `config` is not used). Every gangrid
# command gets the same files, in order, and the `--config` values as `--set KEY=VALUE`. The main
# process checks everything `gangrid validate` checks: bad params stop here with its one line.
PARAMS_FILES = ["params.yaml"] + [str(f) for f in workflow.overwrite_configfiles if str(f) != "params.yaml"]
P, SETS = snakemake_params(PARAMS_FILES, workflow.config_settings.config, workflow.is_main_process)
validate(P, str(SCHEMA_FILE))
GANGRID = "gangrid " + " ".join([f"--params {f}" for f in PARAMS_FILES] + [f"--set {shlex.quote(s)}" for s in SETS])

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


def coordinates(stage, w):
    """The template values of a job of `stage`: its run's coordinates, its dataset, or none."""
    if stage.scope == "run":
        s = spec(w)
        return {"study": s.study, "run": s.name, "dataset": s.dataset, "arch": s.arch, "loss": s.loss, "trick": s.trick}
    if stage.scope == "dataset":
        return {"dataset": w.dataset}
    return {}


@functools.cache
def dataset_kind(dataset):
    """The study kind that owns a dataset (its classifier and real-data row), from its source's data kind."""
    from gangrid.data import get_source

    return owner_of(getattr(get_source(P["datasets"][dataset]["source"]), "kind", "image")).name


def job_kind(stage, w):
    """The study kind whose code a job runs (None: a grid job, which reads every kind's)."""
    if stage.scope == "run":
        return study_kind(P["studies"][w.study])
    if stage.scope == "dataset":
        return dataset_kind(w.dataset)
    return None


@functools.cache
def code(*paths):
    """Source files under src/gangrid/ (a folder: every .py in it), so a code change reruns the jobs."""
    files = []
    for p in paths:
        path = Path("src/gangrid") / p
        files += sorted(str(f) for f in path.rglob("*.py")) if path.is_dir() else [str(path)]
    return tuple(files)


@functools.cache
def run_results():
    """Every run's outputs and every real-data row: what `results` stands for in a grid stage's inputs."""
    outs = [o.path for s in STAGES.values() if s.scope == "run" for o in s.outs if o.snakemake]
    files = [p.format(study=r.study, run=r.name) for r in RUNS.values() for p in outs]
    return tuple(files + [o.path.format(dataset=d) for o in STAGES["evaluate_real"].outs for d in DATASETS])


def stage_inputs(stage):
    """Input function of a stage's rule: its dependencies and code, resolved for the job."""

    def inputs(w):
        values = coordinates(stage, w)
        deps = []
        for d in stage.deps:
            deps += list(run_results()) if d == "results" and stage.scope == "grid" else [d.format(**values)]
        kind = job_kind(stage, w)
        return deps + list(code(*code_paths(stage, code_kinds(kind) if kind else None)))

    return inputs


def stage_outputs(stage):
    """(positional, named) outputs of a stage's rule, with directory() and report() wrappers."""
    positional, named = [], {}
    for o in stage.outs:
        if not o.snakemake:
            continue
        path = directory(o.path) if o.directory else o.path
        if o.report:
            path = report(path, **o.report)
        if o.name:
            named[o.name] = path
        else:
            positional.append(path)
    return positional, named


def lookup(key):
    """The value of a dotted params key (None when absent)."""
    value = P
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def stage_trigger(stage):
    """Params function of a stage's rule: the values of the params keys it depends on, as canonical JSON
    (Snakemake's params rerun trigger reruns exactly the jobs whose values changed, as DVC does)."""

    def trigger(w):
        values = coordinates(stage, w)
        return json.dumps({k.format(**values): lookup(k.format(**values)) for k in stage.params}, sort_keys=True)

    return trigger


def n_threads(section):
    """CPU threads a job reserves (`train.threads` / `eval.threads`); a run whose arch, loss, trick or study
    sets a lower `train.threads` (the 2-D MLPs: 1) uses that many inside the reservation."""
    return int(P.get(section, {}).get("threads", 1)) if section else 1


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


def job_resources(section):
    """Resources of a job from `resources.<section>` in params: gpu (-> sbatch --gpus), mem_mb, runtime (min),
    gpu_share (shards of a GPU: the gpu_share resource, which `--resources gpu_share=N` caps on one machine, and
    sbatch --gres=shard:K instead of --gpus); without a section only the placement (the profile's defaults)."""
    if section is None:
        return placement()
    share = int(job_resource(P, section, "gpu_share", 0))
    gpus = 0 if share else int(job_resource(P, section, "gpu", 0))
    shared = {"gpu_share": share, "gres": f"shard:{share}"} if share else {"gpu_share": 0}
    return {
        "gpu": gpus,
        **shared,
        "mem_mb": int(job_resource(P, section, "mem_mb")),
        "runtime": int(job_resource(P, section, "runtime")),
        **placement(gpus or share),
    }


def target_path(stage):
    """The log / benchmark file name of a job: `<study>/<run>`, `<dataset>` or the stage's own name."""
    return {"run": "{study}/{run}", "dataset": "{dataset}", "grid": ""}[stage.scope]


def stage_command(stage):
    """Params function of a stage's rule: its command line, `gangrid <command> [--quiet] <targets>`.

    It is a param, not the rule's `shell:` text, because Snakemake evaluates that text when the
    job runs, when the loop that defines the rules has long moved on to its last stage.
    """

    def command(w):
        targets = {"run": f"{getattr(w, 'study', '')} {getattr(w, 'run', '')}", "dataset": getattr(w, "dataset", ""),
                   "grid": ""}[stage.scope]
        return " ".join(p for p in (GANGRID, stage.command, "--quiet" if stage.quiet else "", targets) if p)

    return command
