"""GPU throughput at paper scale: training runs per hour per GPU, alone or sharing it, and one training step
of gangrid against the plain-PyTorch reference loop.

    python bench/gpu.py                        # on a GPU machine: the figures of bench/RESULTS.md
    python bench/gpu.py --device cpu --tiny    # the CPU path at tiny sizes (what the test suite runs)

1. Runs/hour per device, for the paper preset's 2-D study (PacGAN-sized MLPs, batch 100) and a DCGAN-32
   study (CIFAR-10 shape, batch 128): K training processes share the device (K = 1: one run per GPU), each
   timing `--steps` iterations after a warm-up, started together behind a barrier. Aggregate steps/s x
   3600 / `--run-steps` (the preset's 50000) = runs/hour; the training loop only (sampling and metrics add
   a few minutes per run on top). Sharing pays when one run leaves the GPU idle (small kernels, launch-bound).
2. One step of gangrid vs the reference loop (bench/train_step.py's, interleaved) at DCGAN-32 and
   DCGAN-64 in fp32 and bf16 autocast.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_step import Case, bench_case, make_config, steps_per_sec  # noqa: E402

from gangrid.kinds.gan.trainer import GanTrainer  # noqa: E402
from gangrid.nets import DataSpec  # noqa: E402


def study_cases(tiny: bool) -> list[Case]:
    """The runs whose throughput is measured: the paper's 2-D MLPs and a DCGAN-32 (tiny: small widths)."""
    if tiny:
        return [Case("MLP-2D (modes2d)", {"name": "mlp2d", "family": "mlp", "hidden": 32, "layers": 2},
                     DataSpec("points", (2,)), 16, 2),
                Case("DCGAN-32", {"name": "dcgan32", "family": "dcgan", "base": 8}, DataSpec("image", (3, 32, 32)), 8, 16)]
    return [Case("MLP-2D (modes2d)", {"name": "mlp2d", "family": "mlp", "hidden": 400, "layers": 4, "d_hidden": 200,
                                      "d_layers": 3, "g_norm": "batch"}, DataSpec("points", (2,)), 100, 2),
            Case("DCGAN-32", {"name": "dcgan32", "family": "dcgan", "base": 64}, DataSpec("image", (3, 32, 32)), 128, 100)]


def worker(case: Case, device: str, precision: str, warmup: int, steps: int, threads: int, barrier, out) -> None:
    """One training process: build the run, warm up, wait for the others, time `steps` iterations."""
    torch.set_num_threads(threads)
    dev = torch.device(device)
    trainer = GanTrainer(make_config(case, precision), case.data, dev)
    trainer.attach_data(torch.rand(4096, *case.data.shape, device=dev) * 2 - 1, None, seed=0)
    steps_per_sec(trainer.iteration, warmup, dev)
    if barrier is not None:
        barrier.wait()
    out.put(steps_per_sec(trainer.iteration, steps, dev))


def shared_steps_per_sec(case: Case, k: int, args: argparse.Namespace) -> float:
    """Aggregate steps/s of `k` runs training at once on the device (one process each; k = 1: this one)."""
    if k == 1:
        import queue

        out: queue.Queue = queue.Queue()
        worker(case, args.device, args.precision, args.warmup, args.steps, args.threads, None, out)
        return out.get()
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(k), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(case, args.device, args.precision, args.warmup, args.steps,
                                              args.threads, barrier, out)) for _ in range(k)]
    for p in procs:
        p.start()
    rates = [out.get(timeout=args.timeout) for _ in procs]
    for p in procs:
        p.join()
    return sum(rates)


def runs_per_hour(args: argparse.Namespace) -> None:
    """Print runs/hour per device for each study case, alone and shared."""
    print(f"runs/hour per device ({args.device}, {args.precision}, {args.run_steps} steps a run; training loop only)")
    print(f"{'case':<18} {'batch':>5} " + " ".join(f"{'alone' if k == 1 else f'shared x{k}':>12}" for k in args.share))
    for case in study_cases(args.tiny):
        cells = []
        for k in args.share:
            rate = shared_steps_per_sec(case, k, args)
            cells.append(f"{rate * 3600 / args.run_steps:12.1f}")
        print(f"{case.name:<18} {case.batch:>5} " + " ".join(cells), flush=True)


def step_vs_reference(args: argparse.Namespace) -> None:
    """Print gangrid's vs the reference loop's steps/s at DCGAN-32/64, fp32 and bf16."""
    device = torch.device(args.device)
    sizes = [32] if args.tiny else [32, 64]
    precisions = ["fp32"] if args.tiny else ["fp32", "bf16"]
    print("one training step: gangrid vs reference loop (steps/s, median of repeats, interleaved)")
    for res in sizes:
        for precision in precisions:
            base, batch = (8, 8) if args.tiny else (64, 128)
            case = Case(f"DCGAN-{res}", {"name": "dcgan", "family": "dcgan", "base": base},
                        DataSpec("image", (3, res, res)), batch, 100)
            ns = argparse.Namespace(amp=precision, warmup=args.warmup, steps=args.steps, repeats=args.repeats)
            ours, theirs = bench_case(case, ns, device)
            print(f"{case.name:<9} {precision:<5} batch {batch:>4}: gangrid {ours:8.1f}  reference {theirs:8.1f}  "
                  f"vs reference {ours / theirs:5.2f}x", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run both parts and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="of the runs/hour part")
    parser.add_argument("--share", type=int, nargs="+", default=None, help="runs per device (default 1 2 4 8)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per measurement (default 200)")
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--run-steps", type=int, default=50000, help="steps of one run (the paper preset's)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per process")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--tiny", action="store_true", help="tiny nets and few steps (a smoke test, not figures)")
    args = parser.parse_args(argv)
    args.share = args.share or ([1, 2] if args.tiny else [1, 2, 4, 8])
    args.steps = args.steps or (5 if args.tiny else 200)
    args.warmup = args.warmup or (2 if args.tiny else 30)
    if args.tiny:
        args.repeats, args.threads = 1, 1
    if args.device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    start = time.perf_counter()
    runs_per_hour(args)
    step_vs_reference(args)
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
