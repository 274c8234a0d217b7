#!/usr/bin/env bash
# A stand-in for sbatch/qsub that runs the job script on this machine, in the background,
# and prints its process id as the job id. For trying the cluster profile without a cluster:
#   snakemake -j2 --executor cluster-generic --cluster-generic-submit-cmd profiles/cluster/local-submit.sh
# (no status command: Snakemake then watches the job's own success/failure marker files).
set -eu
jobscript="${!#}"
mkdir -p logs/cluster
nohup bash "$jobscript" > "logs/cluster/$(basename "$jobscript").out" 2>&1 < /dev/null &
echo $!
