# Thin Snakemake wiring of `gangrid <stage>` commands; same stages and paths as dvc.yaml.
#
#   snakemake -j2                                  # local, default params.yaml
#   snakemake --profile profiles/slurm             # SLURM (snakemake-executor-plugin-slurm)
#   snakemake --profile profiles/cluster           # PBS/LSF/SGE/... (cluster-generic executor)
#   snakemake -j2 --configfile presets/paper.yaml  # another complete params file
#
# The grid comes from the params file: adding a value to a study axis adds jobs
# with no edit here. Each run's rules carry the run's resolved config as a
# param, so Snakemake's params trigger reruns exactly the runs whose config changed.

include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        "reports/report.md",
    default_target: True
