# Thin Snakemake wiring of `gangrid <stage>` commands; same stages and paths as dvc.yaml.
#
#   snakemake -j2                                   # local (or: --profile profiles/local)
#   snakemake --profile profiles/slurm              # SLURM (snakemake-executor-plugin-slurm)
#   snakemake --profile profiles/cluster            # PBS/LSF/SGE/... (cluster-generic executor)
#   snakemake -j2 --configfile presets/paper.yaml   # another complete params file
#   snakemake --report reports/snakemake.html       # HTML report: tables, figures, samples, runtimes
#
# Layout (snakemake-workflows conventions): the params file is validated against
# src/gangrid/params.schema.yaml; rules live in workflow/rules/*.smk; every rule
# has a log (logs/), train/evaluate jobs a benchmark (benchmarks/); report captions
# in workflow/report/. The grid comes from the params file: adding a value to a
# study axis adds jobs with no edit here. Each run's rules carry the run's resolved
# config as a param, so the params rerun trigger reruns exactly the runs whose
# config changed. Resources (GPUs, mem_mb, runtime, threads) come from
# `train.resources` / `eval.resources` in params; see profiles/README.md.


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/report.smk"


report: "workflow/report/workflow.rst"


rule all:
    input:
        "reports/report.md",
    default_target: True
