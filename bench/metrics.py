"""Metric throughput: gangrid.metrics vs the reference packages, on the same features, in one run.

For each feature dimension (default 128 and 2048) and N real = N fake samples
(default 10000) it times, on identical float64 features:
  FID    gangrid fid_from_features         vs clean-fid fid_from_feats
  KID    gangrid kernel_distance           vs clean-fid kernel_distance (same seed: same subsets)
  PRDC   gangrid prdc (k for P/R and D/C)  vs prdc.compute_prdc
and prints wall time, the speed-up (reference time / ours), peak traced memory
(tracemalloc: numpy buffers, not BLAS workspaces), both values and their
largest relative difference. Ours and the reference run alternately, --repeats
times each; the best time of each is kept (the machine's load hits both alike).

    python bench/metrics.py                         # N=10000, d=128 and 2048, KID 100 subsets of 1000
    python bench/metrics.py --n 5000 --dims 64 --repeats 3 --threads 1
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
import tracemalloc
from typing import Any, Callable

import numpy as np


def features(n: int, d: int, seed: int, shift: float) -> np.ndarray:
    """Non-negative, correlated float64 features like a network's pool layer: ReLU(low-rank map + noise)."""
    rng = np.random.default_rng(seed)
    w = np.random.default_rng(0).standard_normal((16, d)) / 4
    z = rng.standard_normal((n, 16)) + shift
    return np.maximum(z @ w + 0.5 * rng.standard_normal((n, d)), 0.0)


def measure_once(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, peak traced MB) of one call."""
    tracemalloc.start()
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # prdc / clean-fid print progress lines
        result = fn()
    seconds = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


def measure(fn: Callable[[], Any], repeats: int) -> tuple[Any, float, float]:
    """(result, best wall seconds, peak traced MB over the runs)."""
    runs = [measure_once(fn) for _ in range(repeats)]
    return runs[-1][0], min(r[1] for r in runs), max(r[2] for r in runs)


def compare(ours: Callable[[], Any], ref: Callable[[], Any], repeats: int) -> tuple[tuple, tuple]:
    """Both measured alternately (ours, reference, ours, ...) so that load changes hit both alike."""
    o, r = [], []
    for _ in range(repeats):
        o.append(measure_once(ours))
        r.append(measure_once(ref))
    best = lambda runs: (runs[-1][0], min(x[1] for x in runs), max(x[2] for x in runs))  # noqa: E731
    return best(o), best(r)


def rel_diff(a: dict[str, float], b: dict[str, float]) -> float:
    """Largest relative difference between matching values."""
    return max(abs(a[k] - b[k]) / max(abs(b[k]), 1e-300) for k in b)


def cases(real: np.ndarray, fake: np.ndarray, args: argparse.Namespace) -> list[tuple[str, Callable, Callable]]:
    """(name, ours, reference) pairs; each callable returns a dict of values."""
    import prdc as prdc_pkg
    from cleanfid import fid as cleanfid

    from gangrid.metrics.fid import fid_from_features
    from gangrid.metrics.kid import kernel_distance
    from gangrid.metrics.prdc import prdc

    def kid_ref() -> dict[str, float]:
        np.random.seed(args.seed)
        return {"kid": cleanfid.kernel_distance(fake, real, args.kid_subsets, args.kid_subset_size)}

    return [
        ("FID", lambda: {"fid": fid_from_features(fake, real)}, lambda: {"fid": float(cleanfid.fid_from_feats(fake, real))}),
        ("KID", lambda: {"kid": kernel_distance(fake, real, args.kid_subsets, args.kid_subset_size, seed=args.seed)[0]}, kid_ref),
        ("PRDC", lambda: prdc(real, fake, args.k, args.k),
         lambda: {k: float(v) for k, v in prdc_pkg.compute_prdc(real, fake, args.k).items()}),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10000, help="samples per set (default 10000)")
    parser.add_argument("--dims", type=int, nargs="+", default=[128, 2048])
    parser.add_argument("--kid-subsets", type=int, default=100)
    parser.add_argument("--kid-subset-size", type=int, default=1000)
    parser.add_argument("--k", type=int, default=5, help="k of the k-NN radii for P/R/D/C (both sides)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs of each side; best time kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=["FID", "KID", "PRDC"], help="only these metrics")
    parser.add_argument("--threads", type=int, help="BLAS threads for both sides (default: the library default)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the memory-vs-N check of our P/R/D/C")
    args = parser.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)

    import scipy
    import sklearn

    print(f"# N={args.n} per set, float64 features; KID {args.kid_subsets} subsets of {args.kid_subset_size}; "
          f"P/R/D/C k={args.k}; best of {args.repeats}")
    print(f"# numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
          f"{os.cpu_count()} CPUs, BLAS threads {args.threads or 'default'}, load average {os.getloadavg()[0]:.1f}")
    header = f"{'metric':<6} {'d':>5} {'ours s':>9} {'ref s':>9} {'speed-up':>9} {'ours MB':>9} {'ref MB':>9} {'max rel diff':>13}  values (ours | reference)"
    print(header)
    print("-" * len(header))
    for d in args.dims:
        real = features(args.n, d, seed=1, shift=0.0)
        fake = features(args.n, d, seed=2, shift=0.15)
        warm = argparse.Namespace(**{**vars(args), "kid_subsets": 1, "kid_subset_size": 100})
        for name, ours, ref in cases(real[:200], fake[:200], warm):  # first calls pay imports and BLAS start-up
            measure(ours, 1), measure(ref, 1)
        for name, ours, ref in cases(real, fake, args):
            if args.only and name not in args.only:
                continue
            (v_ours, t_ours, m_ours), (v_ref, t_ref, m_ref) = compare(ours, ref, args.repeats)
            shown = ", ".join(f"{k}={v_ours[k]:.6g}|{v_ref[k]:.6g}" for k in v_ref)
            print(f"{name:<6} {d:>5} {t_ours:>9.2f} {t_ref:>9.2f} {t_ref / t_ours:>8.2f}x {m_ours:>9.0f} {m_ref:>9.0f} "
                  f"{rel_diff(v_ours, v_ref):>13.1e}  {shown}", flush=True)
    if not args.no_scaling:
        from gangrid.metrics.prdc import prdc

        d = min(args.dims)
        peaks = []
        for n in (args.n // 4, args.n // 2, args.n):
            real, fake = features(n, d, seed=1, shift=0.0), features(n, d, seed=2, shift=0.15)
            peaks.append((n, measure(lambda: prdc(real, fake, args.k, args.k), 1)[2]))
        shown = ", ".join(f"N={n}: {mb:.0f} MB" for n, mb in peaks)
        print(f"# our P/R/D/C peak memory vs N at d={d} (bounded by eval.memory_mb, not N^2): {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
