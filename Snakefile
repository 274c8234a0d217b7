# Thin Snakemake wiring of `gangrid <stage>` commands; same stages and paths as dvc.yaml.
#
#   snakemake -j2                                   # local (or: --profile profiles/local)
#   snakemake --profile profiles/slurm              # SLURM (snakemake-executor-plugin-slurm)
#   snakemake --profile profiles/cluster            # PBS/LSF/SGE/... (cluster-generic executor)
#   snakemake -j2 --configfile presets/paper.yaml   # another complete params file
#   snakemake --report reports/snakemake.html       # HTML report: tables, figures, samples, runtimes
#
# Layout (snakemake-workflows conventions): the params file is checked as `gangrid validate` checks it (and against
# src/gangrid/params.schema.yaml); rules live in workflow/rules/*.smk; every rule
# has a log (logs/) and a benchmark (benchmarks/); report captions in workflow/report/.
# The rules are made from the stage table (src/gangrid/stagetable.py), which the DVC
# pipeline files are written from too. The grid comes from the params file: adding a
# value to a study axis adds jobs with no edit here. Each job carries the values of the
# params keys its stage depends on as a param, so the params rerun trigger reruns exactly
# the jobs whose params changed. Resources (GPUs, mem_mb, runtime, threads) come from
# `resources.train` / `resources.eval` and `train/eval.threads` in params; see profiles/README.md.


include: "workflow/rules/common.smk"
include: "workflow/rules/stages.smk"


report: "workflow/report/workflow.rst"


rule all:
    input:
        "reports/report.md",
    default_target: True
