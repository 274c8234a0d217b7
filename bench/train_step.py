"""Training-loop throughput: gangrid's GanTrainer vs a plain-PyTorch reference loop, same nets.

The reference is the pytorch/examples DCGAN pattern: a fresh fake batch for the
D step, a second generator forward for the G step, a per-step `.item()` of the
losses, default (per-parameter) Adam. Both loops train identical copies of the
same networks with the non-saturating loss on the same batch size, and are timed
in this one run, interleaved, so the printed ratios compare like with like.

    python bench/train_step.py                 # CPU: MLP-2D, DCGAN-16, DCGAN-32
    python bench/train_step.py --device cuda --res 64 --batch 128 --amp bf16   # GPU
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gangrid.nets import DataSpec
from gangrid.kinds.gan.trainer import GanTrainer


@dataclass
class Case:
    name: str
    arch: dict
    data: DataSpec
    batch: int
    z_dim: int


def cases(args: argparse.Namespace) -> list[Case]:
    if args.res:
        return [Case(f"DCGAN-{args.res}", {"name": "dcgan", "family": "dcgan", "base": 64}, DataSpec("image", (3, args.res, args.res)), args.batch or 128, 100)]
    return [
        Case("MLP-2D", {"name": "mlp2d", "family": "mlp", "hidden": 128, "layers": 3}, DataSpec("points", (2,)), args.batch or 100, 2),
        Case("DCGAN-16", {"name": "dcgan16", "family": "dcgan", "base": 32}, DataSpec("image", (1, 16, 16)), args.batch or 64, 32),
        Case("DCGAN-32", {"name": "dcgan32", "family": "dcgan", "base": 32}, DataSpec("image", (3, 32, 32)), args.batch or 64, 64),
    ]


def make_config(case: Case, amp: str) -> dict:
    return {
        "run": {"name": f"bench-{case.name}", "study": "bench", "kind": "gan"},
        "dataset": {"name": "bench"},
        "arch": case.arch,
        "loss": {"name": "ns", "fn": "ns"},
        "tricks": {},
        "train": {"steps": 10**9, "batch_size": case.batch, "z_dim": case.z_dim, "optimizer": "adam", "lr": 2e-4,
                  "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "n_critic": 1, "precision": amp},
        "seed": 0,
    }


class ReferenceLoop:
    """pytorch/examples/dcgan style: fresh fakes for D, a second G forward for G, .item() every step."""

    def __init__(self, g: torch.nn.Module, d: torch.nn.Module, x: torch.Tensor, batch: int, z_dim: int, device: torch.device,
                 bf16: bool = False) -> None:
        self.g, self.d, self.x, self.batch, self.z_dim, self.device = g, d, x, batch, z_dim, device
        self.bf16 = bf16  # the PyTorch AMP recipe: forward passes and losses under bf16 autocast, backward outside
        self.opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.i = 0

    def iteration(self) -> None:
        idx = torch.randint(len(self.x), (self.batch,), device=self.device)
        real = self.x[idx]
        self.d.zero_grad()
        with self.autocast():
            out_real = self.d(real).logits.float()
            err_real = F.binary_cross_entropy_with_logits(out_real, torch.ones_like(out_real))
            fake = self.g(torch.randn(self.batch, self.z_dim, device=self.device))
            out_fake = self.d(fake.detach()).logits.float()
            err_fake = F.binary_cross_entropy_with_logits(out_fake, torch.zeros_like(out_fake))
        (err_real + err_fake).backward()
        self.opt_d.step()
        self.g.zero_grad()
        with self.autocast():
            fake2 = self.g(torch.randn(self.batch, self.z_dim, device=self.device))
            out = self.d(fake2).logits.float()
            err_g = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
        err_g.backward()
        self.opt_g.step()
        self._log = (err_real.item() + err_fake.item(), err_g.item())  # the example prints these every step


    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)


def steps_per_sec(step_fn, steps: int, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step_fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def bench_case(case: Case, args: argparse.Namespace, device: torch.device) -> tuple[float, float]:
    torch.manual_seed(0)
    x = torch.rand(4096, *case.data.shape, device=device) * 2 - 1
    trainer = GanTrainer(make_config(case, args.amp), case.data, device)
    trainer.attach_data(x, None, seed=0)
    # identical weights, in PyTorch's default (contiguous NCHW) layout, as a plain script would have them
    g_ref = copy.deepcopy(trainer.g).to(memory_format=torch.contiguous_format)
    d_ref = copy.deepcopy(trainer.d).to(memory_format=torch.contiguous_format)
    ref = ReferenceLoop(g_ref, d_ref, x, case.batch, case.z_dim, device, bf16=args.amp == "bf16")
    ours_fn, ref_fn = trainer.iteration, ref.iteration
    for fn in (ours_fn, ref_fn):  # warm-up (allocator, kernels, lazy init)
        steps_per_sec(fn, args.warmup, device)
    ours, theirs = [], []
    for _ in range(args.repeats):  # interleave to share machine noise
        ours.append(steps_per_sec(ours_fn, args.steps, device))
        theirs.append(steps_per_sec(ref_fn, args.steps, device))
    return statistics.median(ours), statistics.median(theirs)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--res", type=int, default=0, help="bench one DCGAN at this resolution instead of the CPU trio")
    p.add_argument("--batch", type=int, default=0)
    p.add_argument("--amp", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"device: {name}; torch {torch.__version__}; amp {args.amp}; median of {args.repeats} x {args.steps} steps")
    print(f"{'case':<10} {'batch':>5} {'gangrid it/s':>13} {'reference it/s':>15} {'ratio':>6}")
    for case in cases(args):
        ours, ref = bench_case(case, args, device)
        print(f"{case.name:<10} {case.batch:>5} {ours:>13.1f} {ref:>15.1f} {ours / ref:>6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
