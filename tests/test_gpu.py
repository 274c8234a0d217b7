"""GPU throughput options on CPU: the opt-in compiled step, and bench/gpu.py's CPU path (tiny sizes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from torch import nn

from gangrid.errors import ConfigError
from gangrid.training.base import compile_nets

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("setting, expected", [("off", None), (False, None), ("on", {}), (True, {}),
                                               ("cudagraphs", {"mode": "reduce-overhead"})])
def test_train_compile_compiles_each_net_in_place(setting, expected, monkeypatch):
    calls = []
    monkeypatch.setattr(nn.Module, "compile", lambda self, **kw: calls.append((type(self).__name__, kw)))
    nets = [nn.Linear(2, 2), nn.Conv2d(1, 1, 3)]
    compile_nets(nets, setting)
    assert calls == ([] if expected is None else [("Linear", expected), ("Conv2d", expected)])


def test_train_compile_names_the_key_for_an_unknown_value():
    with pytest.raises(ConfigError, match="train.compile: unknown value 'fast'"):
        compile_nets([nn.Linear(2, 2)], "fast")


def test_gpu_bench_runs_on_cpu_at_tiny_sizes():
    proc = subprocess.run([sys.executable, str(REPO / "bench/gpu.py"), "--device", "cpu", "--tiny"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    for case in ("MLP-2D (modes2d)", "DCGAN-32"):
        assert f"{case}" in out
    assert "runs/hour per device" in out and "shared x2" in out and "vs reference" in out
