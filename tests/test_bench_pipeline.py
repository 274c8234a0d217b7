"""bench/pipeline.py keeps working: its smallest grid (8 runs) is set up and found a no-op by both orchestrators."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]


def test_pipeline_bench_at_8_runs():
    proc = subprocess.run([sys.executable, str(REPO / "bench/pipeline.py"), "--runs", "8", "--repeat", "1",
                           "--commands", "dvc-repro", "snakemake-n"], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    row = proc.stdout.strip().splitlines()[-1].split()
    assert row[:2] == ["8", "1"], proc.stdout  # 8 runs in 1 study, each command a no-op (else it exits non-zero)
