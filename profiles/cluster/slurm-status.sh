#!/usr/bin/env bash
# Status command of the cluster-generic executor for SLURM: prints running, success or failed
# for the job id in $1. Uses sacct when accounting is on, else scontrol (which knows a job
# until MinJobAge seconds after it ended).
set -u
state=$(sacct -j "$1" -X -n -P -o State 2>/dev/null | head -n 1 | cut -d' ' -f1)
if [ -z "$state" ]; then
  state=$(scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
fi
case "$state" in
  COMPLETED) echo success ;;
  PENDING | CONFIGURING | RUNNING | COMPLETING | SUSPENDED | REQUEUED | REQUEUE_HOLD | RESIZING | STAGE_OUT | SIGNALING | "") echo running ;;
  *) echo failed ;;
esac
