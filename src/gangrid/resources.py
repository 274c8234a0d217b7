"""Scheduling resources of the jobs (`resources.train` / `resources.eval` in params) and of this machine.

The Snakefile hands a job's resources to the scheduler (gpu, mem_mb, runtime); `gangrid validate`
compares the memory a stage will need with them. No run depends on these values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# what a job gets when params.yaml leaves a resource out
JOB_DEFAULTS = {"train": {"mem_mb": 8000, "runtime": 60}, "eval": {"mem_mb": 4000, "runtime": 30}}
CGROUP_LIMIT = Path("/sys/fs/cgroup/memory.max")  # cgroup v2: the container's or the batch job's limit


def job_resource(params: dict[str, Any], section: str, key: str, default: Any = None) -> Any:
    """One resource of a job (`resources.<section>.<key>`), else JOB_DEFAULTS', else `default`."""
    fallback = JOB_DEFAULTS.get(section, {}).get(key, default)
    return (params.get("resources") or {}).get(section, {}).get(key, fallback)


def machine_memory_mb() -> int | None:
    """The memory this process may use, in MB: the physical memory, or a lower cgroup limit (None if unknown)."""
    limits = []
    try:
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        pass
    try:
        text = CGROUP_LIMIT.read_text().strip()
        if text.isdigit():
            limits.append(int(text))
    except OSError:
        pass
    return min(limits) // 2**20 if limits else None
